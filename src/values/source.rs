//! Reads one values file: checks its size, that it is UTF-8 and non-empty,
//! scans its YAML events once (rejecting tags and nesting beyond
//! [`MAX_DEPTH`], and indexing the line/column of every key so later stages
//! can point at the exact place a value came from), then parses it with
//! serde_yaml.
//!
//! The scan runs before serde_yaml because libyaml's scanner, which serde_yaml
//! uses, re-checks every open flow level for each token: 100,000 levels of
//! `[` cost minutes there before its recursion limit answers. yaml-rust2's
//! scanner keeps its flow level in a `u8` and fails at level 256, and the
//! scan stops at level [`MAX_DEPTH`] + 1, so it costs time linear in the file.
//!
//! Tags (`!Ref`, `!!str`, `!custom`) are refused: kiln's values are plain
//! YAML data with no application-specific types (YAML 1.2.2 §6.8.2 node
//! tags are for those), and serde_yaml would hand a tagged mapping to the
//! merge as an opaque value.

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
            .find_map(|length| self.0.get(key_path.0.get(..length)?))
            .map_or_else(|| Location::file(path), |&(line, column)| Location::new(path, line, column))
    }

    pub fn get(&self, key_path: &KeyPath) -> Option<(usize, usize)> {
        self.0.get(key_path).copied()
    }

    /// Every indexed path at or below `parent`, in key-path order.
    pub fn below<'a>(&'a self, parent: &'a KeyPath) -> impl Iterator<Item = (&'a KeyPath, (usize, usize))> + 'a {
        self.0.range(parent.clone()..).take_while(|(path, _)| path.starts_with(parent)).map(|(path, &at)| (path, at))
    }
}

/// The largest values file kiln reads: far above any hand-written file (this
/// repository's largest is about 11 KiB) and small enough to parse at once.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// The deepest nesting of mappings and lists a values file may use. kiln's
/// own schema needs 6 levels; Helm values and `vars` get ten times that.
pub const MAX_DEPTH: usize = 64;

/// Parses the values file at `relative` (a path for messages) from its bytes.
pub fn parse(relative: &Path, bytes: &[u8]) -> Result<Source> {
    if bytes.len() > MAX_FILE_BYTES {
        let (line, column) = line_column(bytes, MAX_FILE_BYTES);
        return Err(Error::Values {
            location: Location::new(relative, line, column),
            key_path: String::new(),
            message: format!(
                "values file is larger than {} MiB ({} bytes)",
                MAX_FILE_BYTES / (1024 * 1024),
                bytes.len()
            ),
            help: Some("split it, or move large data (dashboards, scripts) into template files".into()),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = line_column(bytes, error.valid_up_to());
        Error::NotUtf8 { location: Location::new(relative, line, column) }
    })?;
    let positions = scan(relative, text)?;
    let value: Value = serde_yaml::from_str(text).map_err(|error| yaml_error(relative, text, &error))?;
    if value.is_null() {
        return Err(Error::EmptyFile { path: relative.to_path_buf(), what: "values file" });
    }
    Ok(Source { file: ValuesFile { path: relative.to_path_buf(), positions }, value })
}

/// One pass over the parser events: refuses tags and deep nesting, and
/// indexes positions. A syntax error other than nesting is left to serde_yaml,
/// whose messages say more; positions then fall back to the file start.
fn scan(path: &Path, text: &str) -> Result<Positions> {
    let mut parser = Parser::new_from_str(text);
    let mut indexer = Indexer::default();
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            // yaml-rust2 stops at 256 open flow levels with this message.
            Err(error) if error.info() == "recursion limit exceeded" => {
                return Err(too_deep(path, error.marker(), &indexer.current_path()));
            }
            Err(_) => return Ok(Positions::default()),
        };
        if let Some(tag) = tag_of(&event) {
            let key_path = indexer.tagged_path(&event);
            let (location, tag) = written_tag(path, text, &mark)
                .unwrap_or_else(|| (Location::new(path, mark.line(), mark.col() + 1), tag));
            return Err(Error::Values {
                location,
                key_path: key_path.to_string(),
                message: format!("YAML tag `{tag}` is not supported in values"),
                help: Some(
                    "values are plain YAML: remove the tag, and quote the value if it should stay text (`key: \"!Ref x\"`)"
                        .into(),
                ),
            });
        }
        let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        let done = matches!(event, Event::StreamEnd);
        indexer.on_event(event, mark);
        if opens && indexer.stack.len() > MAX_DEPTH {
            return Err(too_deep(path, &mark, &indexer.current_path()));
        }
        if done {
            return Ok(Positions(indexer.positions));
        }
    }
}

fn too_deep(path: &Path, mark: &Marker, key_path: &KeyPath) -> Error {
    Error::Values {
        location: Location::new(path, mark.line(), mark.col() + 1),
        key_path: key_path.to_string(),
        message: format!("values nest deeper than {MAX_DEPTH} levels of mappings and lists"),
        help: Some("flatten the structure; kiln reads at most 64 levels".into()),
    }
}

/// Where the tag of the node starting at `mark` is written, and its text as
/// written (`!!str`, not yaml-rust2's resolved `tag:yaml.org,2002:str`): the
/// last tag token before the node (only an anchor or spaces sit between).
fn written_tag(path: &Path, text: &str, mark: &Marker) -> Option<(Location, String)> {
    let node = text.char_indices().nth(mark.index()).map_or(text.len(), |(offset, _)| offset);
    let before = text.get(..node)?;
    let bang = before.rfind('!')?;
    let ends_token = |c: char| c.is_whitespace() || ",[]{}".contains(c);
    let start = before.get(..bang)?.rfind(ends_token).map_or(0, |offset| offset + 1);
    let written = text.get(start..)?.split(ends_token).next()?.to_string();
    let (line, column) = line_column(text.as_bytes(), start);
    Some((Location::new(path, line, column), written))
}

fn tag_of(event: &Event) -> Option<String> {
    let tag = match event {
        Event::Scalar(_, _, _, tag) | Event::MappingStart(_, tag) | Event::SequenceStart(_, tag) => tag.as_ref()?,
        _ => return None,
    };
    Some(format!("{}{}", tag.handle, tag.suffix))
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
/// Used again for a duplicate key, which only serde_yaml detects.
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
    /// The path of the innermost open mapping or list.
    fn current_path(&self) -> KeyPath {
        match self.stack.last() {
            Some(Frame::Mapping { path, .. } | Frame::Sequence { path, .. }) => path.clone(),
            None => KeyPath::root(),
        }
    }

    /// The key path a tagged node (about to be indexed) sits at: a pending
    /// mapping key's value, the next list item, or the key itself.
    fn tagged_path(&self, event: &Event) -> KeyPath {
        match self.stack.last() {
            None => KeyPath::root(),
            Some(Frame::Sequence { path, next }) => path.index(*next),
            Some(Frame::Mapping { path, key: Some(key) }) => path.key(key.clone()),
            Some(Frame::Mapping { path, key: None }) => match event {
                Event::Scalar(text, ..) => path.key(text.clone()),
                _ => path.clone(),
            },
        }
    }

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
    fn tags_are_refused_wherever_they_sit() {
        for (text, at, key) in [
            ("a:\n  b: !Ref {x: 1}\n", "f.yaml:2:6", "a.b"),
            ("a: !custom\n  b: 1\n", "f.yaml:1:4", "a"),
            ("list:\n  - 1\n  - !!str 2\n", "f.yaml:3:5", "list[1]"),
            ("a: &x !t [1]\n", "f.yaml:1:7", "a"),
            ("a: !seq [1]\n", "f.yaml:1:4", "a"),
            ("!root {a: 1}\n", "f.yaml:1:1", ""),
        ] {
            let error = parse(Path::new("f.yaml"), text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(&format!("--> {at}")), "{text:?}: {error}");
            assert_eq!(error.contains(&format!("= key: {key}\n")), !key.is_empty(), "{text:?}: {error}");
        }
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused_at_the_level_that_crossed_it() {
        let block: String = (0..=MAX_DEPTH).map(|level| format!("{}k{level}:\n", "  ".repeat(level))).collect();
        let error = parse(Path::new("f.yaml"), format!("{block}{}x: 1\n", "  ".repeat(MAX_DEPTH + 1)).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("error: values nest deeper than 64 levels"), "{error}");
        assert!(error.contains(&format!("--> f.yaml:{}:", MAX_DEPTH + 1)), "{error}");
        let flow = format!("a: {}{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let error = parse(Path::new("f.yaml"), flow.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("--> f.yaml:1:67"), "{error}");
        let within = format!("a: {}{}\n", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(parse(Path::new("f.yaml"), within.as_bytes()).is_ok());
    }

    #[test]
    fn oversized_files_are_refused_before_parsing() {
        let text = "a: 1\n".repeat(MAX_FILE_BYTES / 5 + 1);
        let error = parse(Path::new("f.yaml"), text.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "error: values file is larger than 8 MiB ({} bytes)\n  --> f.yaml:1677722:4\n  = help: split it, or move large data (dashboards, scripts) into template files",
                text.len()
            )
        );
    }

    #[test]
    fn locates_missing_key_at_nearest_parent() {
        let positions = index_positions("a:\n  b: 1\n");
        let location = positions.locate(Path::new("f.yaml"), &KeyPath::parse("a.c"));
        assert_eq!(location.to_string(), "f.yaml:1:1");
    }
}
