//! Group commit's decisions, free of I/O: given the heads of the log as they stand
//! under the append lock, decide which appends of a batch go in, at which positions,
//! with which hashes, and what each caller is told.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::append::{Appended, Prepared};
use crate::chain::{Hash, Hashed};
use crate::error::AppendError;
use crate::ids::{EventId, LedgerId, Position, StreamId};

/// The state of the log that a batch's decisions depend on, read under the lock.
#[derive(Debug, Default)]
pub(crate) struct Heads {
    pub(crate) position: Position,
    pub(crate) recorded_at: Option<DateTime<Utc>>,
    /// Current version of each stream the batch writes (absent: no stream).
    pub(crate) streams: HashMap<StreamId, u64>,
    /// The ledger each existing stream the batch writes belongs to, fixed by its
    /// first event.
    pub(crate) owners: HashMap<StreamId, LedgerId>,
    /// Hash of the last event of each ledger the batch writes (absent: no ledger).
    pub(crate) ledgers: HashMap<LedgerId, Hash>,
    /// Stored answers for the idempotency keys the batch carries.
    pub(crate) keys: HashMap<(LedgerId, String), StoredAnswer>,
}

#[derive(Clone, Debug)]
pub(crate) struct StoredAnswer {
    pub(crate) fingerprint: Hash,
    pub(crate) appended: Appended,
}

/// One row of the events table.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    pub(crate) position: Position,
    pub(crate) ledger_id: LedgerId,
    pub(crate) stream_id: StreamId,
    pub(crate) stream_version: u64,
    pub(crate) event_id: EventId,
    pub(crate) event_type: &'static str,
    pub(crate) schema_version: u16,
    pub(crate) payload: &'a str,
    pub(crate) metadata: &'a str,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) prev_hash: Hash,
    pub(crate) hash: Hash,
}

/// One row of the idempotency table.
#[derive(Debug)]
pub(crate) struct KeyRow<'a> {
    pub(crate) ledger_id: LedgerId,
    pub(crate) key: &'a str,
    pub(crate) fingerprint: Hash,
    pub(crate) answer: String,
}

pub(crate) struct Plan<'a> {
    pub(crate) rows: Vec<Row<'a>>,
    pub(crate) keys: Vec<KeyRow<'a>>,
    /// One answer per prepared append, in batch order.
    pub(crate) answers: Vec<Result<Appended, AppendError>>,
}

/// Decides a batch. Appends are taken in order; each sees the effects of the ones
/// accepted before it, exactly as if they had been committed one by one. Afterwards
/// `heads` describes the log as it will stand once the batch is committed.
pub(crate) fn plan<'a>(heads: &mut Heads, batch: &'a [Prepared], now: DateTime<Utc>) -> Plan<'a> {
    // Timestamps never go backwards along the log, so "as of a time" is a prefix.
    let recorded_at = heads.recorded_at.map_or(now, |last| last.max(now));
    let mut position = heads.position;
    let event_total: usize = batch.iter().map(|p| p.event_count).sum();
    let mut plan = Plan {
        rows: Vec::with_capacity(event_total),
        keys: Vec::new(),
        answers: Vec::with_capacity(batch.len()),
    };

    for prepared in batch {
        let key = prepared
            .idempotency_key
            .as_deref()
            .map(|k| (prepared.ledger, k.to_owned()));
        if let Some(stored) = key.as_ref().and_then(|k| heads.keys.get(k)) {
            plan.answers
                .push(if stored.fingerprint == prepared.fingerprint {
                    Ok(Appended {
                        deduplicated: true,
                        ..stored.appended.clone()
                    })
                } else {
                    Err(AppendError::IdempotencyKeyReused {
                        key: key.map(|k| k.1).unwrap_or_default(),
                    })
                });
            continue;
        }
        let ledger_head = heads.ledgers.get(&prepared.ledger).copied();
        match (ledger_head, prepared.opens_ledger) {
            (None, false) => {
                plan.answers
                    .push(Err(AppendError::LedgerNotFound(prepared.ledger)));
                continue;
            }
            (Some(_), true) => {
                plan.answers
                    .push(Err(AppendError::LedgerExists(prepared.ledger)));
                continue;
            }
            _ => {}
        }
        let foreign = prepared.writes.iter().find(|w| {
            heads
                .owners
                .get(&w.stream)
                .is_some_and(|owner| *owner != prepared.ledger)
        });
        if let Some(w) = foreign {
            plan.answers.push(Err(AppendError::OtherLedger {
                stream: w.stream,
                ledger: prepared.ledger,
            }));
            continue;
        }
        let conflict = prepared.writes.iter().find_map(|w| {
            let current = heads.streams.get(&w.stream).copied().unwrap_or(0);
            (!w.expected.admits(current)).then_some(AppendError::VersionConflict {
                stream: w.stream,
                expected: w.expected,
                current,
            })
        });
        if let Some(conflict) = conflict {
            plan.answers.push(Err(conflict));
            continue;
        }

        let first_position = position.next();
        let mut prev_hash = ledger_head.unwrap_or(Hash::GENESIS);
        let mut versions = Vec::with_capacity(prepared.writes.len());
        for write in &prepared.writes {
            let mut version = heads.streams.get(&write.stream).copied().unwrap_or(0);
            for event in &write.events {
                position = position.next();
                version += 1;
                let hash = Hashed {
                    position,
                    ledger_id: prepared.ledger,
                    stream_id: &write.stream,
                    stream_version: version,
                    event_id: event.event_id,
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    payload: &event.payload,
                    metadata: &prepared.metadata,
                    recorded_at,
                }
                .hash(&prev_hash);
                plan.rows.push(Row {
                    position,
                    ledger_id: prepared.ledger,
                    stream_id: write.stream,
                    stream_version: version,
                    event_id: event.event_id,
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    payload: &event.payload,
                    metadata: &prepared.metadata,
                    recorded_at,
                    prev_hash,
                    hash,
                });
                prev_hash = hash;
            }
            heads.streams.insert(write.stream, version);
            heads.owners.insert(write.stream, prepared.ledger);
            versions.push((write.stream, version));
        }
        heads.ledgers.insert(prepared.ledger, prev_hash);
        let appended = Appended {
            first_position,
            last_position: position,
            versions,
            deduplicated: false,
        };
        if let (Some(key), Some(k)) = (key, prepared.idempotency_key.as_deref()) {
            plan.keys.push(KeyRow {
                ledger_id: prepared.ledger,
                key: k,
                fingerprint: prepared.fingerprint,
                answer: serde_json::to_string(&appended).expect("answers serialize"),
            });
            heads.keys.insert(
                key,
                StoredAnswer {
                    fingerprint: prepared.fingerprint,
                    appended: appended.clone(),
                },
            );
        }
        plan.answers.push(Ok(appended));
    }
    if !plan.rows.is_empty() {
        heads.position = position;
        heads.recorded_at = Some(recorded_at);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::append::{AppendRequest, ExpectedVersion};
    use crate::event::{Event, LedgerOpened, MemberGranted, Role};
    use crate::ids::UserId;
    use crate::money::Currency;

    fn open(ledger: LedgerId) -> Prepared {
        let opened = Event::LedgerOpened(LedgerOpened {
            ledger_id: ledger,
            name: "home".into(),
            currency: Currency::parse("EUR").unwrap(),
            timezone: "UTC".into(),
            owner: UserId::new(),
        });
        Prepared::new(AppendRequest::new(
            ledger,
            StreamId::ledger(ledger),
            ExpectedVersion::NoStream,
            vec![opened],
        ))
        .unwrap()
    }

    fn grant(ledger: LedgerId, expected: ExpectedVersion, key: Option<&str>) -> Prepared {
        let event = Event::MemberGranted(MemberGranted {
            user_id: UserId::new(),
            role: Role::Member,
        });
        let mut request =
            AppendRequest::new(ledger, StreamId::ledger(ledger), expected, vec![event]);
        if let Some(k) = key {
            request = request.idempotency_key(k);
        }
        Prepared::new(request).unwrap()
    }

    #[test]
    fn a_batch_is_decided_as_if_committed_one_by_one() {
        let ledger = LedgerId::new();
        let batch = vec![
            open(ledger),
            grant(ledger, ExpectedVersion::Exact(1), None),
            grant(ledger, ExpectedVersion::Exact(1), None),
            grant(ledger, ExpectedVersion::Any, None),
        ];
        let plan = plan(&mut Heads::default(), &batch, Utc::now());
        assert!(plan.answers[0].is_ok() && plan.answers[1].is_ok() && plan.answers[3].is_ok());
        assert!(matches!(
            plan.answers[2],
            Err(AppendError::VersionConflict { current: 2, .. })
        ));
        let positions: Vec<i64> = plan.rows.iter().map(|r| r.position.get()).collect();
        assert_eq!(positions, vec![1, 2, 3]);
        assert_eq!(plan.rows[0].prev_hash, Hash::GENESIS);
        assert_eq!(plan.rows[1].prev_hash, plan.rows[0].hash);
        assert_eq!(plan.rows[2].stream_version, 3);
    }

    #[test]
    fn a_stream_may_close_an_append_it_opened() {
        use crate::event::{ImportCompleted, ImportStarted};
        use crate::ids::ImportId;
        let ledger = LedgerId::new();
        let import = ImportId::new();
        let stream = StreamId::import(import);
        let started = Event::ImportStarted(ImportStarted {
            import_id: import,
            format: "csv".into(),
            file_name: None,
            rows: 0,
        });
        let completed = Event::ImportCompleted(ImportCompleted {
            import_id: import,
            imported: 0,
            duplicates: 0,
            errors: Vec::new(),
        });
        let grant = Event::MemberGranted(MemberGranted {
            user_id: UserId::new(),
            role: Role::Member,
        });
        let request = |expected| {
            AppendRequest::new(
                ledger,
                stream,
                ExpectedVersion::NoStream,
                vec![started.clone()],
            )
            .and(
                StreamId::ledger(ledger),
                ExpectedVersion::Exact(1),
                vec![grant.clone()],
            )
            .and(stream, expected, vec![completed.clone()])
        };
        assert!(Prepared::new(request(ExpectedVersion::Exact(1))).is_err());
        let batch = vec![
            open(ledger),
            Prepared::new(request(ExpectedVersion::Any)).unwrap(),
        ];
        let plan = plan(&mut Heads::default(), &batch, Utc::now());
        assert!(plan.answers.iter().all(Result::is_ok));
        let rows: Vec<(i64, &str, u64)> = plan
            .rows
            .iter()
            .map(|r| (r.position.get(), r.event_type, r.stream_version))
            .collect();
        assert_eq!(
            rows,
            vec![
                (1, "LedgerOpened", 1),
                (2, "ImportStarted", 1),
                (3, "MemberGranted", 2),
                (4, "ImportCompleted", 2)
            ]
        );
    }

    #[test]
    fn unknown_ledgers_and_reopened_ledgers_are_refused() {
        let ledger = LedgerId::new();
        let lone = [grant(ledger, ExpectedVersion::Any, None)];
        let plan1 = plan(&mut Heads::default(), &lone, Utc::now());
        assert!(matches!(
            plan1.answers[0],
            Err(AppendError::LedgerNotFound(_))
        ));
        let batch = [open(ledger), open(ledger)];
        let plan2 = plan(&mut Heads::default(), &batch, Utc::now());
        assert!(plan2.answers[0].is_ok());
        assert!(matches!(
            plan2.answers[1],
            Err(AppendError::LedgerExists(_))
        ));
        assert_eq!(plan2.rows.len(), 1);
    }

    #[test]
    fn a_stream_belongs_to_the_ledger_of_its_first_event() {
        use crate::event::{BudgetPeriod, BudgetRemoved, BudgetSet};
        use crate::ids::BudgetId;
        use crate::money::Amount;
        let (mine, theirs) = (LedgerId::new(), LedgerId::new());
        let budget = BudgetId::new();
        let set = |ledger| {
            let event = Event::BudgetSet(BudgetSet {
                budget_id: budget,
                category: None,
                amount: Amount::parse("5", Currency::parse("EUR").unwrap()).unwrap(),
                period: BudgetPeriod::Monthly,
                thresholds: vec![100],
            });
            Prepared::new(AppendRequest::new(
                ledger,
                StreamId::budget(budget),
                ExpectedVersion::Any,
                vec![event],
            ))
            .unwrap()
        };
        let remove = Prepared::new(AppendRequest::new(
            theirs,
            StreamId::budget(budget),
            ExpectedVersion::Any,
            vec![Event::BudgetRemoved(BudgetRemoved { budget_id: budget })],
        ))
        .unwrap();
        let batch = [
            open(mine),
            open(theirs),
            set(mine),
            set(theirs),
            remove,
            set(mine),
        ];
        let plan = plan(&mut Heads::default(), &batch, Utc::now());
        assert!(plan.answers[2].is_ok() && plan.answers[5].is_ok());
        for refused in [3, 4] {
            assert!(matches!(
                plan.answers[refused],
                Err(AppendError::OtherLedger { ledger, .. }) if ledger == theirs
            ));
        }
        assert_eq!(plan.rows.len(), 4);
    }

    #[test]
    fn a_repeated_key_in_one_batch_gets_the_first_answer() {
        let ledger = LedgerId::new();
        let first = grant(ledger, ExpectedVersion::Any, Some("k1"));
        let mut same = grant(ledger, ExpectedVersion::Any, Some("k1"));
        same.fingerprint = first.fingerprint;
        let other = grant(ledger, ExpectedVersion::Any, Some("k1"));
        let batch = [open(ledger), first, same, other];
        let plan = plan(&mut Heads::default(), &batch, Utc::now());
        let a = plan.answers[1].as_ref().unwrap();
        let b = plan.answers[2].as_ref().unwrap();
        assert_eq!(a.first_position, b.first_position);
        assert!(b.deduplicated);
        assert!(matches!(
            plan.answers[3],
            Err(AppendError::IdempotencyKeyReused { .. })
        ));
        assert_eq!(plan.rows.len(), 2);
        assert_eq!(plan.keys.len(), 1);
    }

    #[test]
    fn time_never_goes_backwards() {
        let ledger = LedgerId::new();
        let later = Utc::now() + chrono::Duration::hours(1);
        let mut heads = Heads {
            recorded_at: Some(later),
            ..Heads::default()
        };
        let batch = [open(ledger)];
        let plan = plan(&mut heads, &batch, Utc::now());
        assert_eq!(heads.position.get(), 1);
        assert_eq!(plan.rows[0].recorded_at, later);
    }
}
