//! A small, lenient tag reader for OFX, shared by 1.x (SGML) and 2.x (XML).
//!
//! Why not an XML crate: OFX 1.x is SGML in which leaf elements usually have
//! no end tag (`<TRNAMT>-3.20<FITID>123`), which no XML parser accepts, and
//! OFX 2.x uses none of XML's harder parts (no attributes on elements, no
//! namespaces we need, no DTD). One reader that knows the SGML rule covers
//! both, in about two hundred lines, with one set of tests; a second parser
//! for 2.x would add a dependency and a second behaviour for the same files.
//!
//! The rule: an element followed by text is a leaf, closed by its end tag or
//! by the next tag. An element without text that gets no end tag was an empty
//! leaf, and what follows it belongs to its parent; except for the aggregates
//! this crate reads, whose missing end tag means a damaged file.

use crate::error::Error;
use crate::options::Format;

/// One element of the tree: a leaf with text, or an aggregate with children.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) text: Option<String>,
    pub(crate) children: Vec<Element>,
}

impl Element {
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of a child leaf, if it has any.
    pub(crate) fn leaf(&self, name: &str) -> Option<&str> {
        self.child(name)
            .and_then(|c| c.text.as_deref())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

/// Aggregates whose end tag may not be left out: losing one would merge
/// transactions or statements.
const AGGREGATES: &[&str] = &[
    "OFX",
    "BANKMSGSRSV1",
    "CREDITCARDMSGSRSV1",
    "STMTTRNRS",
    "CCSTMTTRNRS",
    "STMTRS",
    "CCSTMTRS",
    "BANKTRANLIST",
    "STMTTRN",
    "BANKACCTFROM",
    "CCACCTFROM",
];

/// Deeper nesting than any OFX file has; bounds the work on hostile input.
const MAX_DEPTH: usize = 32;

fn malformed(line: usize, message: impl Into<String>) -> Error {
    Error::Malformed {
        format: Format::Ofx,
        line,
        message: message.into(),
    }
}

/// Reads every top-level element of `text`; text outside elements (the OFX
/// 1.x header) and processing instructions (the 2.x header) are skipped.
///
/// # Errors
/// [`Error::Malformed`] naming the line of an unterminated tag, a stray end
/// tag, an unclosed aggregate, or text where an aggregate was expected.
pub(crate) fn parse(text: &str) -> Result<Vec<Element>, Error> {
    let mut roots: Vec<Element> = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut line = 1usize;
    let mut pos = 0usize;
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        let next = text[pos..].find('<').map_or(bytes.len(), |i| pos + i);
        if next > pos {
            let chunk = &text[pos..next];
            add_text(&mut stack, chunk, line)?;
            line += count_lines(chunk);
            pos = next;
            continue;
        }
        let rest = &text[pos..];
        let (skip, token) = if rest.starts_with("<!--") {
            (skip_past(rest, "-->", line, "comment")?, None)
        } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata
                .find("]]>")
                .ok_or_else(|| malformed(line, "unterminated CDATA section"))?;
            add_text(&mut stack, &cdata[..end], line)?;
            ("<![CDATA[".len() + end + 3, None)
        } else if rest.starts_with("<?") {
            (skip_past(rest, "?>", line, "processing instruction")?, None)
        } else if rest.starts_with("<!") {
            (skip_past(rest, ">", line, "declaration")?, None)
        } else {
            let end = rest[1..]
                .find(['>', '<'])
                .map(|i| i + 1)
                .filter(|&i| rest.as_bytes()[i] == b'>')
                .ok_or_else(|| malformed(line, format!("unterminated tag {}", snippet(rest))))?;
            (end + 1, Some(&rest[1..end]))
        };
        let tag_line = line;
        line += count_lines(&rest[..skip]);
        pos += skip;
        if let Some(tag) = token {
            handle_tag(&mut roots, &mut stack, tag, tag_line)?;
        }
    }
    if let Some(open) = stack.iter().rev().find(|e| is_aggregate(&e.name)) {
        return Err(malformed(
            line,
            format!(
                "the file ends before </{}> (opened at line {})",
                open.name, open.line
            ),
        ));
    }
    while let Some(done) = stack.pop() {
        attach(&mut roots, &mut stack, done);
    }
    Ok(roots)
}

fn is_aggregate(name: &str) -> bool {
    AGGREGATES.contains(&name)
}

fn count_lines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

fn snippet(s: &str) -> String {
    let t: String = s.chars().take(20).take_while(|c| *c != '\n').collect();
    format!("{t:?}")
}

fn skip_past(rest: &str, end: &str, line: usize, what: &str) -> Result<usize, Error> {
    rest.find(end)
        .map(|i| i + end.len())
        .ok_or_else(|| malformed(line, format!("unterminated {what}")))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

fn handle_tag(
    roots: &mut Vec<Element>,
    stack: &mut Vec<Element>,
    tag: &str,
    line: usize,
) -> Result<(), Error> {
    if let Some(name) = tag.strip_prefix('/') {
        let name = name.trim().to_ascii_uppercase();
        if !valid_name(&name) {
            return Err(malformed(line, format!("invalid end tag </{}>", name)));
        }
        if !stack.iter().any(|e| e.name == name) {
            return Err(malformed(
                line,
                format!("</{name}> closes nothing that is open"),
            ));
        }
        while let Some(done) = stack.pop() {
            if done.name == name {
                attach(roots, stack, done);
                return Ok(());
            }
            if is_aggregate(&done.name) {
                return Err(malformed(
                    line,
                    format!(
                        "</{name}> before </{}> (opened at line {})",
                        done.name, done.line
                    ),
                ));
            }
            close_implicitly(roots, stack, done);
        }
        return Ok(());
    }
    let self_closing = tag.ends_with('/');
    let body = tag.trim_end_matches('/');
    let name = body
        .split(|c: char| c.is_ascii_whitespace())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if !valid_name(&name) {
        return Err(malformed(
            line,
            format!("invalid tag <{}>", snippet(tag).trim_matches('"')),
        ));
    }
    // A leaf with text is complete once the next tag starts.
    if stack.last().is_some_and(|top| top.text.is_some()) {
        if let Some(done) = stack.pop() {
            attach(roots, stack, done);
        }
    }
    let element = Element {
        name,
        line,
        ..Element::default()
    };
    if self_closing {
        attach(roots, stack, element);
    } else {
        if stack.len() >= MAX_DEPTH {
            return Err(malformed(line, "elements nested too deeply"));
        }
        stack.push(element);
    }
    Ok(())
}

/// An element that got no end tag: a leaf is simply done; an empty leaf's
/// supposed children were its siblings.
fn close_implicitly(roots: &mut Vec<Element>, stack: &mut [Element], mut done: Element) {
    let children = std::mem::take(&mut done.children);
    attach(roots, stack, done);
    for child in children {
        attach(roots, stack, child);
    }
}

fn attach(roots: &mut Vec<Element>, stack: &mut [Element], done: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None => roots.push(done),
    }
}

fn add_text(stack: &mut [Element], chunk: &str, line: usize) -> Result<(), Error> {
    let trimmed = chunk.trim();
    if trimmed.is_empty() {
        return Ok(());
    }
    let Some(top) = stack.last_mut() else {
        // The OFX 1.x header and anything after </OFX>.
        return Ok(());
    };
    if !top.children.is_empty() {
        let at = line + count_lines(&chunk[..chunk.len() - chunk.trim_start().len()]);
        return Err(malformed(
            at,
            format!(
                "text {} inside <{}>, where only elements belong",
                snippet(trimmed),
                top.name
            ),
        ));
    }
    let decoded = unescape(trimmed);
    match &mut top.text {
        Some(existing) => existing.push_str(&decoded),
        None => top.text = Some(decoded),
    }
    Ok(())
}

/// XML's five entities and numeric references, which OFX 1.x uses too.
/// Anything else is kept as written: a bank's stray `&` is common.
pub(crate) fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Entities are short; looking further for the `;` would make a text
        // full of stray `&`s quadratic.
        let entity = rest.get(1..).and_then(|r| {
            let n = r.bytes().take(11).position(|b| b == b';')?;
            r.get(..n)
        });
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => {
                let n = if let Some(hex) = e.strip_prefix("#x").or_else(|| e.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    e.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                n.and_then(char::from_u32)
            }
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Element {
        let mut roots = parse(text).unwrap();
        assert_eq!(roots.len(), 1, "{roots:?}");
        roots.remove(0)
    }

    #[test]
    fn sgml_leaves_close_at_the_next_tag() {
        let e = one(
            "<STMTTRN>\n<TRNAMT>-3.20\n<FITID>abc</FITID>\n<NAME>Caf&eacute; &amp; Bar\n</STMTTRN>",
        );
        assert_eq!(e.leaf("TRNAMT"), Some("-3.20"));
        assert_eq!(e.leaf("FITID"), Some("abc"));
        assert_eq!(e.leaf("NAME"), Some("Caf&eacute; & Bar"));
        assert_eq!(e.child("FITID").unwrap().line, 3);
    }

    #[test]
    fn xml_with_prolog_comments_and_empty_elements() {
        let e = one("<?xml version=\"1.0\"?>\n<?OFX OFXHEADER=\"200\"?>\n<!-- hi -->\n<ofx><a>1</a><b/><c><![CDATA[x<y]]></c></ofx>");
        assert_eq!(e.name, "OFX");
        assert_eq!(e.leaf("A"), Some("1"));
        assert!(e.child("B").is_some());
        assert_eq!(e.leaf("C"), Some("x<y"));
    }

    #[test]
    fn an_empty_leaf_without_end_tag_does_not_swallow_siblings() {
        let e = one("<STMTTRN><MEMO><NAME>Shop</STMTTRN>");
        let names: Vec<_> = e.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["MEMO", "NAME"]);
    }

    #[test]
    fn damage_is_reported_with_its_line() {
        let cases = [
            ("<OFX>\n<STMTTRN>\n<TRNAMT>1\n", 4, "ends before </STMTTRN>"),
            ("<OFX>\n</STMTTRN>\n</OFX>", 2, "closes nothing"),
            ("<OFX>\n<STMTTRN>\n<A>1\n</OFX>", 4, "before </STMTTRN>"),
            (
                "<OFX>\n<A>1</A>\nloose\n</OFX>",
                3,
                "where only elements belong",
            ),
            ("<OFX>\n<A 1\n</OFX>", 2, "unterminated tag"),
            ("<OFX>\n<!-- \n", 2, "unterminated comment"),
            ("<OFX>\n<$$>\n</OFX>", 2, "invalid tag"),
        ];
        for (text, line, needle) in cases {
            match parse(text) {
                Err(Error::Malformed {
                    line: l, message, ..
                }) => {
                    assert_eq!(l, line, "{text:?}: {message}");
                    assert!(message.contains(needle), "{text:?}: {message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            unescape("A&amp;B &lt;x&gt; &#233;&#xE9; &bogus; & done"),
            "A&B <x> éé &bogus; & done"
        );
        assert_eq!(unescape("&#xFFFFFFFF; &#; &"), "&#xFFFFFFFF; &#; &");
    }
}
