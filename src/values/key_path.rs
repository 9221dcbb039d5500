//! Key paths name a place inside a values document, e.g.
//! `workloads.reasoning-suite.ports[0].port`, in messages and provenance.

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
                Segment::Key(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    // Keys such as `nvidia.com/gpu` contain dots, and a key may hold
                    // spaces or quotes; quote those so the path stays readable.
                    let plain = |c: char| c.is_ascii_alphanumeric() || "-_/".contains(c);
                    if key.is_empty() || !key.chars().all(plain) {
                        write!(f, "\"{}\"", key.escape_debug())?;
                    } else {
                        f.write_str(key)?;
                    }
                }
            }
        }
        Ok(())
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
    fn parses_dotted_form() {
        let path = KeyPath::parse("workloads.web.ports[1].port");
        assert_eq!(path, KeyPath::root().key("workloads").key("web").key("ports").index(1).key("port"));
    }
}
