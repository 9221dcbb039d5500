//! Surgical edits of a values file: `kiln seal` sets one scalar (or removes
//! one key) at a time, and `kiln import compose` sets whole blocks (a
//! workload), changing only the lines of that key, so comments, order,
//! quoting and blank lines elsewhere stay as written. The file is never
//! re-serialised.
//!
//! Where a key is comes from the loader's position index
//! ([`crate::values::source`]); what belongs to a key is its line and the
//! lines after it that are indented deeper (YAML 1.2.2 §6.1: a block node's
//! content is indented more than its parent), or at its indentation when
//! they are compact `- ` items (§8.2.1). Only block-style mappings are
//! edited; a key written in a flow collection (`{a: 1}`) is refused.
//!
//! Every edit is proved: the edited text is parsed again and must equal the
//! old document with exactly that change, or nothing is written.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::values::key_path::{KeyPath, Segment};
use crate::values::source::{self, Source};
use crate::{Error, Result};

/// One key to add with [`Document::add_blocks`]: its name, the text after
/// its colon (a comment, or empty), the value it must parse as, and its
/// lines below it for an indentation.
pub struct Block<'a> {
    pub key: String,
    pub comment: String,
    pub value: Value,
    pub body: Box<dyn Fn(usize) -> String + 'a>,
}

/// A values file being edited.
pub struct Document {
    path: PathBuf,
    text: String,
    source: Source,
    /// The command named when an edit is refused.
    tool: &'static str,
}

impl Document {
    /// `path` is shown in messages.
    pub fn parse(path: &Path, text: String) -> Result<Self> {
        let source = source::parse(path, text.as_bytes())?;
        Ok(Document { path: path.to_path_buf(), text, source, tool: "kiln seal" })
    }

    /// Names `tool` instead of `kiln seal` when an edit is refused.
    pub fn for_tool(mut self, tool: &'static str) -> Self {
        self.tool = tool;
        self
    }

    /// Whether the key at `at` is written in the file.
    pub fn has(&self, at: &KeyPath) -> bool {
        self.source.file.positions.get(at).is_some()
    }

    /// The text of the line where the key at `at` is written, if it is.
    pub fn key_line(&self, at: &KeyPath) -> Option<&str> {
        let (line, _) = self.source.file.positions.get(at)?;
        self.text.split_inclusive('\n').nth(line.saturating_sub(1))
    }

    /// Adds new keys below `parent` in one edit (one re-parse however many):
    /// each `(key, comment, value, body)` as the last keys of `parent`, with
    /// `comment` after its colon and `body(indent)` below it. None of the keys
    /// may exist yet.
    pub fn add_blocks(&mut self, parent: &KeyPath, blocks: &[Block<'_>]) -> Result<()> {
        let Some(first) = blocks.first() else { return Ok(()) };
        let at = parent.key(first.key.clone());
        if let Some(block) = blocks.iter().find(|block| self.has(&parent.key(block.key.clone()))) {
            return Err(self.refuse(&parent.key(block.key.clone()), "it exists already".into()));
        }
        let tail = |indent: usize| {
            let mut out = String::new();
            for (index, block) in blocks.iter().enumerate() {
                if index > 0 {
                    out.push_str(&format!("{}{}:", " ".repeat(indent), block.key));
                }
                out.push_str(&block.comment);
                out.push('\n');
                out.push_str(&(block.body)(indent + 2));
            }
            out
        };
        let text = self.insert(&at, &tail)?;
        let mut wanted = self.source.value.clone();
        for block in blocks {
            set_value(&mut wanted, &parent.key(block.key.clone()), block.value.clone());
        }
        self.commit(text, &wanted, &at)
    }

    /// Sets the key at `at` to a block: `comment` (text after the colon,
    /// e.g. `  # …`, or empty) on the key's line and `body(indent)` below it,
    /// where `indent` is the key's own indentation plus two. An existing key
    /// is replaced with all its lines; a new one is added as the last key of
    /// its parent, creating the parents on the way. `expected` is the value
    /// the block must parse as.
    pub fn set_block(
        &mut self,
        at: &KeyPath,
        comment: &str,
        body: &dyn Fn(usize) -> String,
        expected: Value,
    ) -> Result<()> {
        let mut wanted = self.source.value.clone();
        set_value(&mut wanted, at, expected);
        let tail = |indent: usize| format!("{comment}\n{}", body(indent + 2));
        let text = if let Some((line, column)) = self.source.file.positions.get(at) {
            let index = line.saturating_sub(1);
            self.block_line(index, column, at)?;
            let lines = self.lines();
            let end = block_end(&lines, index, column);
            let Some(Segment::Key(key)) = at.0.last() else {
                return Err(self.refuse(at, "it is not a mapping key".into()));
            };
            let indent = column.saturating_sub(1);
            let replacement = format!("{}{}:{}", " ".repeat(indent), key, tail(indent));
            let mut text = String::with_capacity(self.text.len() + replacement.len());
            for (number, line) in lines.iter().enumerate() {
                if number == index {
                    text.push_str(&replacement);
                } else if number < index || number > end {
                    text.push_str(line);
                }
            }
            text
        } else {
            self.insert(at, &tail)?
        };
        self.commit(text, &wanted, at)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn value(&self) -> &Value {
        &self.source.value
    }

    /// The edited file as the values loader reads it: the last edit's
    /// proof parsed it already.
    pub fn into_source(self) -> Source {
        self.source
    }

    /// Sets the scalar at `at` to `written` (plain YAML text), which must
    /// parse as `expected`; creates the mappings on the way when absent.
    pub fn set(&mut self, at: &KeyPath, written: &str, expected: Value) -> Result<()> {
        let mut wanted = self.source.value.clone();
        set_value(&mut wanted, at, expected);
        let text = if self.source.file.positions.get(at).is_some() {
            self.replace_scalar(at, written)?
        } else {
            self.insert(at, &|_| format!(" {written}\n"))?
        };
        self.commit(text, &wanted, at)
    }

    /// Removes the key at `at` and everything below it.
    pub fn remove(&mut self, at: &KeyPath) -> Result<()> {
        let Some((line, column)) = self.source.file.positions.get(at) else { return Ok(()) };
        let index = line.saturating_sub(1);
        self.block_line(index, column, at)?;
        let end = block_end(&self.lines(), index, column);
        let text: String = self
            .lines()
            .into_iter()
            .enumerate()
            .filter(|(number, _)| *number < index || *number > end)
            .map(|(_, line)| line)
            .collect();
        let mut wanted = self.source.value.clone();
        remove_value(&mut wanted, at);
        self.commit(text, &wanted, at)
    }

    fn lines(&self) -> Vec<&str> {
        self.text.split_inclusive('\n').collect()
    }

    fn commit(&mut self, text: String, wanted: &Value, at: &KeyPath) -> Result<()> {
        let source = source::parse(&self.path, text.as_bytes())?;
        if &source.value != wanted {
            return Err(self.refuse(at, "the edit would change more than this key".into()));
        }
        self.text = text;
        self.source = source;
        Ok(())
    }

    fn refuse(&self, at: &KeyPath, why: String) -> Error {
        Error::Values {
            location: self.source.locate(at),
            key_path: at.to_string(),
            message: format!("{} cannot edit this key: {why}", self.tool),
            help: Some(if self.tool == "kiln seal" {
                "write it as one `key: value` line of a block mapping, or use `kiln seal --print` and paste the snippet"
                    .into()
            } else {
                format!("write it in block style (`key:` on its own line, its keys indented below), or use `{} --dry-run` and paste the snippet", self.tool)
            }),
        }
    }

    /// Checks that the key at 0-based `index`, 1-based char `column`, starts
    /// its line (after indentation or `- `), so it is in block style.
    fn block_line(&self, index: usize, column: usize, at: &KeyPath) -> Result<()> {
        let line = self.lines().get(index).copied().unwrap_or_default();
        let before: String = line.chars().take(column.saturating_sub(1)).collect();
        if before.chars().all(|c| c == ' ' || c == '-') {
            Ok(())
        } else {
            Err(self.refuse(at, "it is written inside a flow collection".into()))
        }
    }

    /// The text with the one-line scalar at `at` replaced by `written`.
    fn replace_scalar(&self, at: &KeyPath, written: &str) -> Result<String> {
        let (line, column) = self.source.file.positions.get(at).unwrap_or((1, 1));
        let index = line.saturating_sub(1);
        self.block_line(index, column, at)?;
        let lines = self.lines();
        if block_end(&lines, index, column) != index {
            return Err(self.refuse(at, "its value spans several lines".into()));
        }
        let text = lines.get(index).copied().unwrap_or_default();
        let (body, ending) = split_ending(text);
        let start = byte_of_char(body, column.saturating_sub(1));
        let rest = body.get(start..).unwrap_or_default();
        let Some(colon) = key_end(rest) else { return Err(self.refuse(at, "its key could not be read".into())) };
        let value_start = start + colon + 1;
        let after = body.get(value_start..).unwrap_or_default();
        let comment = after.find(" #").unwrap_or(after.len());
        let old = after.get(..comment).unwrap_or_default();
        // The spaces between the value and its comment stay as written.
        let spaces = old.get(old.trim_end().len()..).unwrap_or_default();
        let old = old.trim();
        if old.starts_with(['|', '>', '{', '[', '&', '*', '!']) {
            return Err(self.refuse(at, "its value is not a plain or quoted scalar".into()));
        }
        let mut edited = String::with_capacity(text.len() + written.len());
        edited.push_str(body.get(..value_start).unwrap_or_default());
        edited.push(' ');
        edited.push_str(written);
        if comment < after.len() {
            edited.push_str(spaces);
        }
        edited.push_str(after.get(comment..).unwrap_or_default());
        edited.push_str(ending);
        Ok(lines
            .iter()
            .enumerate()
            .map(|(number, line)| if number == index { edited.as_str() } else { line })
            .collect())
    }

    /// The text with `at` added as the last key of its parent mapping,
    /// `tail(indent)` written after its colon (its scalar, or a newline for
    /// an empty mapping to fill), adding missing parents first.
    fn insert(&mut self, at: &KeyPath, tail: &dyn Fn(usize) -> String) -> Result<String> {
        let Some((Segment::Key(key), parent)) = at.0.split_last() else {
            return Err(self.refuse(at, "it is not a mapping key".into()));
        };
        let parent = KeyPath(parent.to_vec());
        if !parent.0.is_empty() && self.source.file.positions.get(&parent).is_none() {
            let text = self.insert(&parent, &|_| "\n".into())?;
            let mut wanted = self.source.value.clone();
            // A key with nothing below it yet parses as null.
            set_value(&mut wanted, &parent, Value::Null);
            self.commit(text, &wanted, &parent)?;
        }
        let children = self.children(&parent);
        let lines = self.lines();
        let (after, indent) = match children.last() {
            Some(&(line, column)) => (block_end(&lines, line.saturating_sub(1), column), column.saturating_sub(1)),
            None if parent.0.is_empty() => (lines.len().saturating_sub(1), 0),
            None => {
                let (line, column) = self.source.file.positions.get(&parent).unwrap_or((1, 1));
                let index = line.saturating_sub(1);
                let value = lines.get(index).copied().map(split_ending).map(|(body, _)| body).unwrap_or_default();
                let value = value.get(byte_of_char(value, column.saturating_sub(1))..).unwrap_or_default();
                let empty = key_end(value).and_then(|colon| value.get(colon + 1..)).map(str::trim);
                if !matches!(empty, Some("" | "{}" | "null" | "~")) || block_end(&lines, index, column) != index {
                    return Err(self.refuse(&parent, "it is not a block mapping".into()));
                }
                (index, column.saturating_sub(1) + 2)
            }
        };
        if !children.is_empty() {
            if let Some(&(line, column)) = children.first() {
                self.block_line(line.saturating_sub(1), column, at)?;
            }
        }
        let new_line = format!("{}{key}:{}", " ".repeat(indent), tail(indent));
        let mut text = String::with_capacity(self.text.len() + new_line.len());
        for (number, line) in lines.iter().enumerate() {
            if number == after && children.is_empty() && !parent.0.is_empty() {
                // `key: {}` becomes `key:` with the new key below it.
                let (body, ending) = split_ending(line);
                let body = body.trim_end();
                let body = body.strip_suffix("{}").or_else(|| body.strip_suffix("null")).unwrap_or(body);
                let body = body.strip_suffix('~').unwrap_or(body).trim_end();
                text.push_str(body);
                text.push_str(if ending.is_empty() { "\n" } else { ending });
            } else {
                text.push_str(line);
                if number == after && !line.ends_with('\n') {
                    text.push('\n');
                }
            }
            if number == after {
                text.push_str(&new_line);
            }
        }
        Ok(text)
    }

    /// Positions of the mapping keys directly below `parent`, in file order.
    fn children(&self, parent: &KeyPath) -> Vec<(usize, usize)> {
        let mut children: Vec<(usize, usize)> = self
            .source
            .file
            .positions
            .below(parent)
            .filter(|(path, _)| path.0.len() == parent.0.len() + 1 && matches!(path.0.last(), Some(Segment::Key(_))))
            .map(|(_, position)| position)
            .collect();
        children.sort_unstable();
        children
    }
}

/// The 0-based index of the last line that belongs to the key at 0-based
/// line `index` and 1-based char `column`.
fn block_end(lines: &[&str], index: usize, column: usize) -> usize {
    let indent = column.saturating_sub(1);
    let mut end = index;
    for (number, line) in lines.iter().enumerate().skip(index + 1) {
        let trimmed = line.trim_start_matches(' ');
        let content = trimmed.trim_end();
        if content.is_empty() {
            continue;
        }
        let depth = line.len() - trimmed.len();
        let compact_item = depth == indent && (content == "-" || content.starts_with("- "));
        if depth > indent || compact_item {
            end = number;
        } else {
            break;
        }
    }
    end
}

/// The byte offset of the `:` that ends the key at the start of `text`.
fn key_end(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    match text.chars().next()? {
        quote @ ('"' | '\'') => {
            chars.next();
            while let Some((_, c)) = chars.next() {
                if quote == '"' && c == '\\' {
                    chars.next();
                } else if c == quote {
                    if quote == '\'' && chars.peek().is_some_and(|&(_, next)| next == '\'') {
                        chars.next();
                        continue;
                    }
                    let (offset, colon) = chars.next()?;
                    return (colon == ':').then_some(offset);
                }
            }
            None
        }
        _ => {
            while let Some((offset, c)) = chars.next() {
                if c == ':' && chars.peek().is_none_or(|&(_, next)| next == ' ' || next == '\t') {
                    return Some(offset);
                }
            }
            None
        }
    }
}

fn split_ending(line: &str) -> (&str, &str) {
    let body = line.trim_end_matches(['\n', '\r']);
    (body, line.get(body.len()..).unwrap_or_default())
}

fn byte_of_char(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(offset, _)| offset)
}

fn set_value(document: &mut Value, at: &KeyPath, value: Value) {
    let Some((last, parents)) = at.0.split_last() else {
        *document = value;
        return;
    };
    let mut node = document;
    for segment in parents {
        let Segment::Key(key) = segment else { return };
        if !node.is_mapping() {
            *node = Value::Mapping(Mapping::new());
        }
        let Some(map) = node.as_mapping_mut() else { return };
        node = map.entry(Value::String(key.clone())).or_insert(Value::Null);
    }
    if let Segment::Key(key) = last {
        if !node.is_mapping() {
            *node = Value::Mapping(Mapping::new());
        }
        if let Some(map) = node.as_mapping_mut() {
            map.insert(Value::String(key.clone()), value);
        }
    }
}

fn remove_value(document: &mut Value, at: &KeyPath) {
    let Some((Segment::Key(last), parents)) = at.0.split_last() else { return };
    let mut node = document;
    for segment in parents {
        let Segment::Key(key) = segment else { return };
        let Some(child) = node.as_mapping_mut().and_then(|map| map.get_mut(key.as_str())) else { return };
        node = child;
    }
    if let Some(map) = node.as_mapping_mut() {
        map.remove(last.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> KeyPath {
        keys.iter().fold(KeyPath::root(), |path, key| path.key(*key))
    }

    fn edited(text: &str, edit: impl FnOnce(&mut Document) -> Result<()>) -> String {
        let mut document = Document::parse(Path::new("f.yaml"), text.to_string()).unwrap();
        edit(&mut document).unwrap();
        document.text().to_string()
    }

    const FILE: &str = "# head\nname: apps\nsecrets:\n  db:  # the database\n    encryptedData:\n      \"tls.crt\": old  # keep\n      b: x\nworkloads:\n  web: {image: a}\n";

    #[test]
    fn replaces_a_value_and_keeps_everything_else() {
        let text = edited(FILE, |d| {
            d.set(&path(&["secrets", "db", "encryptedData", "tls.crt"]), "NEW", Value::String("NEW".into()))
        });
        assert_eq!(text, FILE.replace("\"tls.crt\": old  # keep", "\"tls.crt\": NEW  # keep"));
    }

    #[test]
    fn adds_keys_after_the_last_sibling_and_missing_parents() {
        let text = edited(FILE, |d| {
            d.set(&path(&["secrets", "db", "sealedFor"]), "sha256:ab", Value::String("sha256:ab".into()))?;
            d.set(&path(&["secrets", "cache", "encryptedData", "k"]), "v", Value::String("v".into()))
        });
        assert_eq!(
            text,
            FILE.replace(
                "      b: x\n",
                "      b: x\n    sealedFor: sha256:ab\n  cache:\n    encryptedData:\n      k: v\n"
            )
        );
        let text = edited("a: 1\nsecrets: {}\n", |d| d.set(&path(&["secrets", "s"]), "x", Value::String("x".into())));
        assert_eq!(text, "a: 1\nsecrets:\n  s: x\n");
        let text = edited("a: 1", |d| d.set(&path(&["b"]), "x", Value::String("x".into())));
        assert_eq!(text, "a: 1\nb: x\n");
    }

    #[test]
    fn removes_a_key_with_its_lines() {
        let text = edited(FILE, |d| d.remove(&path(&["secrets", "db", "encryptedData", "tls.crt"])));
        assert_eq!(text, FILE.replace("      \"tls.crt\": old  # keep\n", ""));
    }

    #[test]
    fn refuses_what_it_cannot_edit_in_place() {
        let mut document = Document::parse(Path::new("f.yaml"), FILE.to_string()).unwrap();
        let error = document.set(&path(&["workloads", "web", "image"]), "b", Value::String("b".into())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "error: kiln seal cannot edit this key: it is written inside a flow collection\n  --> f.yaml:9:9\n  = key: workloads.web.image\n  = help: write it as one `key: value` line of a block mapping, or use `kiln seal --print` and paste the snippet"
        );
        let mut document = Document::parse(Path::new("f.yaml"), "a: |\n  x\n".into()).unwrap();
        let error = document.set(&path(&["a"]), "b", Value::String("b".into())).unwrap_err();
        assert!(error.to_string().contains("its value spans several lines"), "{error}");
        assert_eq!(document.text(), "a: |\n  x\n");
    }
}
