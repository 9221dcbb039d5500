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

/// One parsed values file.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path relative to the repository root, as shown in messages.
    pub path: PathBuf,
    pub value: Value,
    pub positions: Positions,
    /// sha256 of the raw bytes, recorded in the lock.
    pub bytes: Vec<u8>,
}

impl Source {
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
        // Nearly every lookup hits the exact key: try it before cloning the path.
        if let Some(&(line, column)) = self.0.get(key_path) {
            return Location::new(path, line, column);
        }
        let mut probe = key_path.parent();
        while let Some(candidate) = probe {
            if let Some(&(line, column)) = self.0.get(&candidate) {
                return Location::new(path, line, column);
            }
            probe = candidate.parent();
        }
        Location::file(path)
    }

    pub fn get(&self, key_path: &KeyPath) -> Option<(usize, usize)> {
        self.0.get(key_path).copied()
    }
}

/// Parses the values file at `relative` (a path for messages) from its bytes.
pub fn parse(relative: &Path, bytes: &[u8]) -> Result<Source> {
    let bytes = bytes.to_vec();
    let text = std::str::from_utf8(&bytes).map_err(|error| {
        let (line, column) = line_column(&bytes, error.valid_up_to());
        Error::NotUtf8 { location: Location::new(relative, line, column) }
    })?;
    let value: Value = serde_yaml::from_str(text).map_err(|error| yaml_error(relative, &error))?;
    if value.is_null() {
        return Err(Error::EmptyFile { path: relative.to_path_buf(), what: "values file" });
    }
    Ok(Source { path: relative.to_path_buf(), value, positions: index_positions(text), bytes })
}

fn yaml_error(path: &Path, error: &serde_yaml::Error) -> Error {
    let (line, column) = error.location().map_or((1, 1), |at| (at.line(), at.column()));
    let message = error.to_string();
    // serde_yaml appends " at line N column M"; the location line already says that.
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    Error::YamlSyntax { location: Location::new(path, line, column), message }
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
    fn locates_missing_key_at_nearest_parent() {
        let positions = index_positions("a:\n  b: 1\n");
        let location = positions.locate(Path::new("f.yaml"), &KeyPath::parse("a.c"));
        assert_eq!(location.to_string(), "f.yaml:1:1");
    }
}
