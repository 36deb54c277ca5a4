//! Finding the header row: which column is the date, the amount, the payee...,
//! by the names banks use (English and German) or by the caller's column mapping.

use crate::date::DateText;
use crate::options::{ColumnMapping, ColumnRef};

/// No bank exports this many columns; a wider record is not read as a
/// header, which keeps matching names cheap on hostile input.
pub(super) const MAX_HEADER_COLUMNS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Date,
    Amount,
    Debit,
    Credit,
    Id,
    Currency,
    Balance,
    Category,
    Description,
    Payee,
    Memo,
}

/// Header names per role, normalized (lowercase, punctuation as spaces), in
/// order of preference: a booking date beats a value date.
pub(super) const SYNONYMS: &[(Role, &[&str])] = &[
    (
        Role::Date,
        &[
            "date",
            "transaction date",
            "booking date",
            "posting date",
            "posted date",
            "trans date",
            "buchungstag",
            "buchungsdatum",
            "datum",
            "value date",
            "valuta",
            "valutadatum",
            "wertstellung",
        ],
    ),
    (
        Role::Amount,
        &["amount", "transaction amount", "betrag", "umsatz"],
    ),
    (
        Role::Debit,
        &[
            "debit",
            "debit amount",
            "paid out",
            "money out",
            "withdrawal",
            "withdrawals",
            "soll",
            "ausgang",
            "out",
        ],
    ),
    (
        Role::Credit,
        &[
            "credit",
            "credit amount",
            "paid in",
            "money in",
            "deposit",
            "deposits",
            "haben",
            "eingang",
            "in",
        ],
    ),
    (
        Role::Id,
        &[
            "id",
            "transaction id",
            "txn id",
            "unique id",
            "fitid",
            "reference id",
            "transaction number",
        ],
    ),
    (
        Role::Currency,
        &["currency", "currency code", "ccy", "währung", "waehrung"],
    ),
    (
        Role::Balance,
        &["balance", "running balance", "saldo", "kontostand"],
    ),
    (Role::Category, &["category", "kategorie"]),
    (
        Role::Description,
        &[
            "description",
            "transaction description",
            "details",
            "transaction details",
            "narrative",
            "particulars",
            "verwendungszweck",
            "buchungstext",
            "text",
        ],
    ),
    (
        Role::Payee,
        &[
            "payee",
            "name",
            "merchant",
            "counterparty",
            "begünstigter zahlungspflichtiger",
            "beguenstigter zahlungspflichtiger",
            "auftraggeber empfänger",
            "auftraggeber begünstigter",
            "begünstigter",
            "auftraggeber",
            "empfänger",
            "zahlungsempfänger",
            "name zahlungsbeteiligter",
        ],
    ),
    (
        Role::Memo,
        &[
            "memo",
            "notes",
            "note",
            "reference",
            "referenz",
            "additional information",
        ],
    ),
];

/// Column positions (0-based) for each role found.
#[derive(Debug, Default, Clone)]
pub(super) struct Layout {
    pub(super) date: Option<usize>,
    pub(super) amount: Option<usize>,
    pub(super) debit: Option<usize>,
    pub(super) credit: Option<usize>,
    pub(super) id: Option<usize>,
    pub(super) currency: Option<usize>,
    pub(super) category: Option<usize>,
    pub(super) description: Option<usize>,
    pub(super) payee: Option<usize>,
    pub(super) memo: Option<usize>,
}

impl Layout {
    fn slot(&mut self, role: Role) -> Option<&mut Option<usize>> {
        Some(match role {
            Role::Date => &mut self.date,
            Role::Amount => &mut self.amount,
            Role::Debit => &mut self.debit,
            Role::Credit => &mut self.credit,
            Role::Id => &mut self.id,
            Role::Currency => &mut self.currency,
            Role::Category => &mut self.category,
            Role::Description => &mut self.description,
            Role::Payee => &mut self.payee,
            Role::Memo => &mut self.memo,
            Role::Balance => return None,
        })
    }

    pub(super) fn is_usable(&self) -> bool {
        self.date.is_some()
            && (self.amount.is_some() || self.debit.is_some() || self.credit.is_some())
    }

    pub(super) fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.date.is_none() {
            missing.push("date");
        }
        if self.amount.is_none() && self.debit.is_none() && self.credit.is_none() {
            missing.push("amount (or debit/credit)");
        }
        missing
    }
}

pub(super) fn mapped(mapping: &ColumnMapping, role: Role) -> Option<&ColumnRef> {
    match role {
        Role::Date => mapping.date.as_ref(),
        Role::Amount => mapping.amount.as_ref(),
        Role::Debit => mapping.debit.as_ref(),
        Role::Credit => mapping.credit.as_ref(),
        Role::Id => mapping.id.as_ref(),
        Role::Currency => mapping.currency.as_ref(),
        Role::Balance => mapping.balance.as_ref(),
        Role::Category => mapping.category.as_ref(),
        Role::Description => mapping.description.as_ref(),
        Role::Payee => mapping.payee.as_ref(),
        Role::Memo => mapping.memo.as_ref(),
    }
}

pub(super) fn normalize_header(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Positions from the mapping alone, when it names every required column by position.
pub(super) fn layout_from_positions(mapping: &ColumnMapping) -> Option<Layout> {
    let mut layout = Layout::default();
    for (role, _) in SYNONYMS {
        if let Some(ColumnRef::Index(i)) = mapped(mapping, *role) {
            if let Some(slot) = layout.slot(*role) {
                *slot = Some(i.checked_sub(1)?);
            }
        }
    }
    layout.is_usable().then_some(layout)
}

/// Reads `record` as a header, if it is one.
pub(super) fn layout_from_header(
    record: &csv::StringRecord,
    mapping: &ColumnMapping,
) -> Option<Layout> {
    if record.len() > MAX_HEADER_COLUMNS {
        return None;
    }
    let names: Vec<String> = record.iter().map(normalize_header).collect();
    let mut taken = vec![false; names.len()];
    let mut layout = Layout::default();
    // Mapped columns first, so detection cannot take them for another role.
    for (role, _) in SYNONYMS {
        let col = match mapped(mapping, *role) {
            None => continue,
            Some(ColumnRef::Index(i)) => i.checked_sub(1)?,
            Some(ColumnRef::Name(name)) => {
                let wanted = normalize_header(name);
                names.iter().position(|n| *n == wanted)?
            }
        };
        if let Some(t) = taken.get_mut(col) {
            *t = true;
        }
        if let Some(slot) = layout.slot(*role) {
            *slot = Some(col);
        }
    }
    for (role, synonyms) in SYNONYMS {
        if mapped(mapping, *role).is_some() {
            continue;
        }
        let found = synonyms
            .iter()
            .find_map(|syn| (0..names.len()).find(|&i| !taken[i] && names[i] == *syn))
            .or_else(|| {
                // "Amount (GBP)", "Betrag (EUR)": a known name plus a qualifier.
                synonyms
                    .iter()
                    .filter(|syn| syn.len() >= 4)
                    .find_map(|syn| {
                        (0..names.len()).find(|&i| {
                            !taken[i]
                                && names[i]
                                    .strip_prefix(syn)
                                    .is_some_and(|rest| rest.starts_with(' '))
                        })
                    })
            });
        if let Some(col) = found {
            taken[col] = true;
            if let Some(slot) = layout.slot(*role) {
                *slot = Some(col);
            }
        }
    }
    // With the date column given by position, a record whose date cell holds
    // a date is data, not a header.
    if matches!(mapping.date, Some(ColumnRef::Index(_))) {
        let cell = layout.date.and_then(|c| record.get(c)).unwrap_or("");
        if DateText::parse(cell).is_some() {
            return None;
        }
    }
    // A signed amount column wins over debit/credit columns of the same file.
    if layout.amount.is_some() {
        layout.debit = None;
        layout.credit = None;
    }
    layout.is_usable().then_some(layout)
}
