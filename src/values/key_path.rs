//! Key paths name a place inside a values document, e.g.
//! `workloads.reasoning-suite.ports[0].port`, in messages and provenance.
//!
//! kiln writes every path one way, in errors, findings, `kiln explain` and
//! `kiln diff` alike ([`write_key`]): keys joined by `.`, list indexes as
//! `[0]`, and a key that is not only ASCII letters, digits, `-`, `_` and `/`
//! written as a JSON string: `labels."nvidia.com/gpu.present"`,
//! `env."MY VAR"`, `data."it's"`. That is one of the two forms the jq manual
//! gives for keys with special characters (`."foo$"`), and the quoting is
//! JSON's, as `kiln explain` prints values, so a path never reads two ways.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        KeyPath(segments)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        KeyPath(segments)
    }

    pub fn join(&self, tail: &KeyPath) -> Self {
        KeyPath(self.0.iter().chain(&tail.0).cloned().collect())
    }

    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    pub fn strip_prefix(&self, prefix: &KeyPath) -> Option<KeyPath> {
        self.0.strip_prefix(prefix.0.as_slice()).map(|rest| KeyPath(rest.to_vec()))
    }

    pub fn parent(&self) -> Option<KeyPath> {
        self.0.split_last().map(|(_, rest)| KeyPath(rest.to_vec()))
    }

    /// Parses the dotted form users type on the command line (`a.b[0].c`).
    pub fn parse(text: &str) -> KeyPath {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|part| !part.is_empty()) {
            let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_string()));
            }
            for index in indexes.split('[') {
                if let Ok(index) = index.trim_end_matches(']').parse() {
                    segments.push(Segment::Index(index));
                }
            }
        }
        KeyPath(segments)
    }
}

/// Lets maps keyed by `KeyPath` be probed with a prefix slice, so walking up
/// to the nearest recorded parent allocates nothing. `Vec` and slice order,
/// equality and hashing agree, as `Borrow` requires.
impl std::borrow::Borrow<[Segment]> for KeyPath {
    fn borrow(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => write_key(f, key, position == 0)?,
            }
        }
        Ok(())
    }
}

/// Writes `key` as the next segment of a path (see the module docs); `first`
/// leaves out the `.` before it.
pub fn write_key(out: &mut impl fmt::Write, key: &str, first: bool) -> fmt::Result {
    if !first {
        out.write_char('.')?;
    }
    // Keys such as `nvidia.com/gpu` contain dots, and a key may hold spaces,
    // quotes or brackets; quote those so the path reads one way.
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_/".contains(c);
    if !key.is_empty() && key.chars().all(plain) {
        out.write_str(key)
    } else {
        out.write_str(&serde_json::to_string(key).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_keys_indexes_and_dotted_keys() {
        let path = KeyPath::root().key("workloads").key("web").key("ports").index(0).key("nvidia.com/gpu");
        assert_eq!(path.to_string(), "workloads.web.ports[0].\"nvidia.com/gpu\"");
        let odd = KeyPath::root().key("labels").key("kind: Secret").key("a\"b\n");
        assert_eq!(odd.to_string(), "labels.\"kind: Secret\".\"a\\\"b\\n\"");
    }

    #[test]
    fn quoted_keys_are_json_strings() {
        let path = KeyPath::root().key("it's").key("").key("a[0]").key("\u{1b}").key("checksum/config").key("1x");
        assert_eq!(path.to_string(), r#""it's".""."a[0]"."\u001b".checksum/config.1x"#);
    }

    #[test]
    fn parses_dotted_form() {
        let path = KeyPath::parse("workloads.web.ports[1].port");
        assert_eq!(path, KeyPath::root().key("workloads").key("web").key("ports").index(1).key("port"));
    }
}
