//! Reads one values file: checks it is UTF-8 and non-empty, parses it with
//! serde_yaml and indexes the line/column of every key so later stages can
//! point at the exact place a value came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::key_path::KeyPath;
use crate::diagnostic::{line_column, Location};
use crate::{Error, Result};

/// One parsed values file, as layering needs it: its document and where
/// each key is written.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: ValuesFile,
    pub value: Value,
}

impl Source {
    /// Path relative to the repository root, as shown in messages.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    pub fn locate(&self, key_path: &KeyPath) -> Location {
        self.file.locate(key_path)
    }
}

/// A values file as the stages after layering need it: its path and the
/// position of every key, without the parsed document.
#[derive(Debug, Clone)]
pub struct ValuesFile {
    /// Path relative to the repository root, as shown in messages.
    pub path: PathBuf,
    pub positions: Positions,
}

impl ValuesFile {
    /// Where `key_path` is written in this file; the nearest written parent when
    /// the exact key is absent (for example a missing required key).
    pub fn locate(&self, key_path: &KeyPath) -> Location {
        self.positions.locate(&self.path, key_path)
    }
}

/// Line/column of each key (and list item) in one file.
#[derive(Debug, Clone, Default)]
pub struct Positions(BTreeMap<KeyPath, (usize, usize)>);

impl Positions {
    pub fn locate(&self, path: &Path, key_path: &KeyPath) -> Location {
        (0..=key_path.0.len())
            .rev()
            .find_map(|length| self.0.get(&key_path.0[..length]))
            .map_or_else(|| Location::file(path), |&(line, column)| Location::new(path, line, column))
    }

    pub fn get(&self, key_path: &KeyPath) -> Option<(usize, usize)> {
        self.0.get(key_path).copied()
    }
}

/// Parses the values file at `relative` (a path for messages) from its bytes.
pub fn parse(relative: &Path, bytes: &[u8]) -> Result<Source> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = line_column(bytes, error.valid_up_to());
        Error::NotUtf8 { location: Location::new(relative, line, column) }
    })?;
    let value: Value = serde_yaml::from_str(text).map_err(|error| yaml_error(relative, text, &error))?;
    if value.is_null() {
        return Err(Error::EmptyFile { path: relative.to_path_buf(), what: "values file" });
    }
    Ok(Source { file: ValuesFile { path: relative.to_path_buf(), positions: index_positions(text) }, value })
}

fn yaml_error(path: &Path, text: &str, error: &serde_yaml::Error) -> Error {
    let (line, column) = error.location().map_or((1, 1), |at| (at.line(), at.column()));
    let message = error.to_string();
    // serde_yaml writes the position as " at line N column M"; the `-->` line
    // shows it, but a trailing ", while parsing ... at line N column M" is kept
    // because it says where the unfinished construct started.
    let message = match error.location() {
        Some(_) => message.replacen(&format!(" at line {line} column {column}"), "", 1),
        None => message,
    };
    if let Some(duplicate) = duplicate_key(path, text, &message) {
        return duplicate;
    }
    let help = if message.contains("more than one document") {
        Some("a values file holds one YAML document; remove the `---` separator and merge the documents")
    } else if text
        .lines()
        .nth(line.saturating_sub(1))
        .is_some_and(|l| l.chars().nth(column.saturating_sub(1)) == Some('\t'))
    {
        Some("YAML indentation must use spaces, not tabs")
    } else {
        None
    };
    let location = Location::new(path, line, column);
    match help {
        Some(help) => Error::Values {
            location,
            key_path: String::new(),
            message: format!("invalid YAML: {message}"),
            help: Some(help.to_string()),
        },
        None => Error::YamlSyntax { location, message },
    }
}

/// serde_yaml reports a duplicate key as `<parent path>: duplicate entry with
/// key "<key>"` positioned at the parent mapping (or nowhere for top-level
/// keys); point at the second occurrence instead, which is what to delete.
fn duplicate_key(path: &Path, text: &str, message: &str) -> Option<Error> {
    let (parent, rest) = match message.split_once(": duplicate entry with key \"") {
        Some((parent, rest)) => (KeyPath::parse(parent), rest),
        None => (KeyPath::root(), message.strip_prefix("duplicate entry with key \"")?),
    };
    let key = rest.strip_suffix('"')?;
    let key_path = parent.key(key);
    // The indexer keeps the last position recorded for a path: the duplicate.
    let location = index_positions(text).locate(path, &key_path);
    Some(Error::Values {
        location,
        key_path: key_path.to_string(),
        message: format!("invalid YAML: key `{key}` appears twice in the same mapping"),
        help: Some("a key may appear once per mapping; merge the two entries or rename one".into()),
    })
}

/// Walks parser events and records where each key and list item starts.
fn index_positions(text: &str) -> Positions {
    let mut indexer = Indexer::default();
    // A document serde_yaml accepted parses here too; if it does not, positions
    // fall back to the file start rather than failing the run.
    if Parser::new_from_str(text).load(&mut indexer, false).is_err() {
        return Positions::default();
    }
    Positions(indexer.positions)
}

#[derive(Default)]
struct Indexer {
    positions: BTreeMap<KeyPath, (usize, usize)>,
    stack: Vec<Frame>,
}

enum Frame {
    /// A mapping: the path of the mapping, and the pending key once read.
    Mapping {
        path: KeyPath,
        key: Option<String>,
    },
    Sequence {
        path: KeyPath,
        next: usize,
    },
}

impl Indexer {
    /// The path of the node that starts now, or `None` when it is a mapping key.
    fn child_path(&mut self, mark: Marker) -> Option<KeyPath> {
        let position = (mark.line(), mark.col() + 1);
        match self.stack.last_mut() {
            None => Some(KeyPath::root()),
            Some(Frame::Sequence { path, next }) => {
                let child = path.index(*next);
                *next += 1;
                self.positions.insert(child.clone(), position);
                Some(child)
            }
            Some(Frame::Mapping { path, key }) => key.take().map(|key| path.key(key)),
        }
    }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                if let Some(Frame::Mapping { path, key }) = self.stack.last_mut() {
                    if key.is_none() {
                        self.positions.insert(path.key(text.clone()), (mark.line(), mark.col() + 1));
                        *key = Some(text);
                        return;
                    }
                }
                self.child_path(mark);
            }
            Event::Alias(_) => {
                self.child_path(mark);
            }
            Event::MappingStart(..) => {
                let path = self.child_path(mark).unwrap_or_default();
                self.stack.push(Frame::Mapping { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.child_path(mark).unwrap_or_default();
                self.stack.push(Frame::Sequence { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_keys_and_items() {
        let positions = index_positions("a:\n  b: 1\n  list:\n    - x: 2\n    - 3\n");
        assert_eq!(positions.get(&KeyPath::parse("a")), Some((1, 1)));
        assert_eq!(positions.get(&KeyPath::parse("a.b")), Some((2, 3)));
        assert_eq!(positions.get(&KeyPath::parse("a.list[0].x")), Some((4, 7)));
        assert_eq!(positions.get(&KeyPath::parse("a.list[1]")), Some((5, 7)));
    }

    #[test]
    fn duplicate_keys_point_at_the_second_occurrence() {
        let error = parse(Path::new("f.yaml"), b"a:\n  b: 1\n  c: 2\n  b: 3\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "error: invalid YAML: key `b` appears twice in the same mapping\n  --> f.yaml:4:3\n  = key: a.b\n  = help: a key may appear once per mapping; merge the two entries or rename one"
        );
    }

    #[test]
    fn syntax_errors_keep_where_the_open_construct_started() {
        let error = parse(Path::new("f.yaml"), b"a: 'x\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "error: invalid YAML: found unexpected end of stream, while scanning a quoted scalar at line 1 column 4\n  --> f.yaml:2:1"
        );
    }

    #[test]
    fn locates_missing_key_at_nearest_parent() {
        let positions = index_positions("a:\n  b: 1\n");
        let location = positions.locate(Path::new("f.yaml"), &KeyPath::parse("a.c"));
        assert_eq!(location.to_string(), "f.yaml:1:1");
    }
}
