//! Reads one Compose file into [`Node`] trees, one per YAML document (Compose
//! merges a file's documents in order, as compose-go's loader does). Size,
//! nesting depth and the number of nodes after alias expansion are bounded
//! before anything else can cost time or memory, so no input hangs or
//! exhausts the loader: an 8 MiB file, 64 levels (as `values::source`), and
//! [`MAX_NODES`] nodes, which stops a "billion laughs" of nested aliases.
//!
//! Anchors, aliases and `<<` merge keys are applied here, before any Compose
//! rule sees the tree, as compose-go does (its YAML decoder resolves them):
//! YAML's merge key (yaml.org/type/merge.html) adds the keys of the merged
//! mapping, or of each mapping of a merged list, that the mapping does not
//! write itself, the first list entry winning. The `!reset` and `!override`
//! tags of compose-spec 13-merge.md are kept on their nodes for the merge;
//! YAML's core tags (`!!str`, `!!int`, ...) are honoured and any other tag is
//! refused, as it means nothing to Compose. A key written twice in one
//! mapping is refused, as compose-go does ("mapping key already defined").
//! Plain scalars resolve by the YAML 1.2 core schema (§10.3.2), which is what
//! compose-go's go-yaml v3 decoder applies to untyped values.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::node::{At, Kind, Node, Tag};
use crate::diagnostic::{line_column, Location};
use crate::values::key_path::KeyPath;
use crate::{Error, Result};

/// The largest Compose file kiln reads: real stacks are a few KiB.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// The deepest nesting of mappings and lists; a Compose service needs 6.
pub const MAX_DEPTH: usize = 64;
/// The most nodes one file may expand to once aliases are copied: a
/// 500-service file is about 20,000.
pub const MAX_NODES: usize = 500_000;

/// Parses `bytes`, the contents of `file`, into its non-empty documents.
pub fn parse(file: &Arc<Path>, bytes: &[u8]) -> Result<Vec<Node>> {
    if bytes.len() > MAX_FILE_BYTES {
        let (line, column) = line_column(bytes, MAX_FILE_BYTES);
        return Err(Error::Compose {
            location: Location::new(file.as_ref(), line, column),
            key_path: String::new(),
            // The reader stops one byte past the limit: the file's own size is not known here.
            message: format!("Compose file is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
            help: Some("split it into several files (`-f`, `include`)".into()),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = line_column(bytes, error.valid_up_to());
        Error::NotUtf8 { location: Location::new(file.as_ref(), line, column) }
    })?;
    Builder::new(file.clone()).run(text)
}

struct Builder {
    file: Arc<Path>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    documents: Vec<Node>,
    nodes: usize,
}

enum Frame {
    Map {
        at: At,
        path: KeyPath,
        anchor: usize,
        tag: Tag,
        entries: Vec<(String, Node)>,
        /// Values of `<<` keys, in order.
        merges: Vec<Node>,
        /// The key read and waiting for its value, and whether it is the
        /// merge key (a plain `<<`; a quoted one is an ordinary key).
        key: Option<(String, At, bool)>,
        /// Nodes inside this mapping, for the alias budget of its anchor.
        size: usize,
    },
    Seq {
        at: At,
        path: KeyPath,
        anchor: usize,
        tag: Tag,
        items: Vec<Node>,
        size: usize,
    },
}

impl Builder {
    fn new(file: Arc<Path>) -> Builder {
        Builder { file, stack: Vec::new(), anchors: HashMap::new(), documents: Vec::new(), nodes: 0 }
    }

    fn at(&self, mark: &Marker) -> At {
        At { file: self.file.clone(), line: mark.line(), column: mark.col() + 1 }
    }

    fn error(&self, mark: &Marker, key_path: &KeyPath, message: String, help: Option<&str>) -> Error {
        Error::Compose {
            location: self.at(mark).location(),
            key_path: key_path.to_string(),
            message,
            help: help.map(str::to_string),
        }
    }

    /// The key path of the node that starts next.
    fn next_path(&self) -> KeyPath {
        match self.stack.last() {
            None => KeyPath::root(),
            Some(Frame::Seq { path, items, .. }) => path.index(items.len()),
            Some(Frame::Map { path, key: Some((key, ..)), .. }) => path.key(key.clone()),
            Some(Frame::Map { path, .. }) => path.clone(),
        }
    }

    fn run(mut self, text: &str) -> Result<Vec<Node>> {
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, mark) = match parser.next_token() {
                Ok(next) => next,
                Err(error) => {
                    let path = self.next_path();
                    let marker = *error.marker();
                    return Err(if error.info() == "recursion limit exceeded" {
                        self.too_deep(&marker, &path)
                    } else {
                        self.error(&marker, &path, format!("invalid YAML: {}", error.info()), syntax_help(error.info()))
                    });
                }
            };
            match event {
                Event::StreamEnd => return Ok(self.documents),
                Event::Scalar(text, style, anchor, tag) => {
                    let tag = self.tag(tag.as_ref(), &mark)?;
                    if let Some(Frame::Map { key: key @ None, entries, path, .. }) = self.stack.last_mut() {
                        if entries.iter().any(|(name, _)| *name == text) {
                            let key_path = path.key(text.clone());
                            return Err(self.error(
                                &mark,
                                &key_path,
                                format!("invalid YAML: key `{text}` appears twice in the same mapping"),
                                Some("a key may appear once per mapping; merge the two entries or rename one"),
                            ));
                        }
                        let at = At { file: self.file.clone(), line: mark.line(), column: mark.col() + 1 };
                        let merge = text == "<<" && style == TScalarStyle::Plain;
                        *key = Some((text, at, merge));
                        continue;
                    }
                    let kind = match (tag, style) {
                        (Tagged::Str, _) => Kind::Str(text),
                        (_, TScalarStyle::Plain) => resolve(&text),
                        _ => Kind::Str(text),
                    };
                    let mut node = Node::new(kind, self.at(&mark));
                    node.tag = tag.merge_tag();
                    self.count(&mark, 1)?;
                    self.complete(node, anchor, 1, &mark)?;
                }
                Event::Alias(id) => {
                    if matches!(self.stack.last(), Some(Frame::Map { key: None, .. })) {
                        let path = self.next_path();
                        return Err(self.error(
                            &mark,
                            &path,
                            "an alias cannot be a mapping key in a Compose file".into(),
                            None,
                        ));
                    }
                    let Some((node, size)) = self.anchors.get(&id).cloned() else {
                        let path = self.next_path();
                        return Err(self.error(&mark, &path, "invalid YAML: alias to an unknown anchor".into(), None));
                    };
                    self.count(&mark, size)?;
                    let mut node = node;
                    node.at = self.at(&mark);
                    self.complete(node, 0, size, &mark)?;
                }
                Event::MappingStart(..) | Event::SequenceStart(..) if self.is_key() => {
                    let path = self.next_path();
                    return Err(self.error(&mark, &path, "a Compose mapping key must be a string".into(), None));
                }
                Event::MappingStart(anchor, tag) => {
                    let tag = self.tag(tag.as_ref(), &mark)?.merge_tag();
                    let path = self.next_path();
                    let at = self.at(&mark);
                    self.stack.push(Frame::Map {
                        at,
                        path,
                        anchor,
                        tag,
                        entries: Vec::new(),
                        merges: Vec::new(),
                        key: None,
                        size: 1,
                    });
                    self.check_depth(&mark)?;
                    self.count(&mark, 1)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    let tag = self.tag(tag.as_ref(), &mark)?.merge_tag();
                    let path = self.next_path();
                    let at = self.at(&mark);
                    self.stack.push(Frame::Seq { at, path, anchor, tag, items: Vec::new(), size: 1 });
                    self.check_depth(&mark)?;
                    self.count(&mark, 1)?;
                }
                Event::MappingEnd => {
                    let Some(Frame::Map { mut at, path, anchor, tag, entries, merges, size, .. }) = self.stack.pop()
                    else {
                        continue;
                    };
                    // yaml-rust2 marks a block mapping at its first `:`; its first key is where it starts.
                    if let Some((_, first)) = entries.first() {
                        if (first.at.line, first.at.column) < (at.line, at.column) {
                            at = first.at.clone();
                        }
                    }
                    let entries = apply_merge_keys(entries, merges).map_err(|at| Error::Compose {
                        location: at.location(),
                        key_path: path.key("<<").to_string(),
                        message: "the merge key `<<` takes a mapping or a list of mappings".into(),
                        help: Some("merge an anchored mapping: `<<: *base` or `<<: [*base, *gpu]`".into()),
                    })?;
                    let mut node = Node::new(Kind::Map(entries), at);
                    node.tag = tag;
                    self.complete(node, anchor, size, &mark)?;
                }
                Event::SequenceEnd => {
                    let Some(Frame::Seq { at, anchor, tag, items, size, .. }) = self.stack.pop() else { continue };
                    let mut node = Node::new(Kind::Seq(items), at);
                    node.tag = tag;
                    self.complete(node, anchor, size, &mark)?;
                }
                Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
            }
        }
    }

    fn is_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn count(&mut self, mark: &Marker, added: usize) -> Result<()> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > MAX_NODES {
            let path = self.next_path();
            return Err(self.error(
                mark,
                &path,
                format!("the file expands to more than {MAX_NODES} YAML nodes once its aliases are copied"),
                Some("an alias copies its anchor's whole value: nest fewer aliases of aliases"),
            ));
        }
        Ok(())
    }

    fn check_depth(&self, mark: &Marker) -> Result<()> {
        if self.stack.len() > MAX_DEPTH {
            return Err(self.too_deep(mark, &self.next_path()));
        }
        Ok(())
    }

    fn too_deep(&self, mark: &Marker, path: &KeyPath) -> Error {
        self.error(
            mark,
            path,
            format!("the file nests deeper than {MAX_DEPTH} levels of mappings and lists"),
            Some("a Compose file needs far fewer; flatten the structure"),
        )
    }

    /// A finished node goes to its parent (or is a document), and is
    /// remembered under its anchor.
    fn complete(&mut self, node: Node, anchor: usize, size: usize, mark: &Marker) -> Result<()> {
        if anchor > 0 {
            // The anchor's copy counts too: nested anchors would otherwise hold
            // a copy of the tree per level without touching the budget.
            self.count(mark, size)?;
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                if node.kind != Kind::Null || node.tag != Tag::None {
                    self.documents.push(node);
                }
            }
            Some(Frame::Seq { items, size: parent, .. }) => {
                *parent = parent.saturating_add(size);
                items.push(node);
            }
            Some(Frame::Map { entries, merges, key, size: parent, .. }) => {
                *parent = parent.saturating_add(size);
                let Some((name, at, merge)) = key.take() else {
                    let path = self.next_path();
                    return Err(self.error(mark, &path, "a Compose mapping key must be a string".into(), None));
                };
                let mut node = node;
                node.at = at;
                if merge {
                    merges.push(node);
                } else {
                    entries.push((name, node));
                }
            }
        }
        Ok(())
    }

    fn tag(&self, tag: Option<&yaml_rust2::parser::Tag>, mark: &Marker) -> Result<Tagged> {
        let Some(tag) = tag else { return Ok(Tagged::None) };
        match (tag.handle.as_str(), tag.suffix.as_str()) {
            ("!", "reset") => Ok(Tagged::Reset),
            ("!", "override") => Ok(Tagged::Override),
            ("tag:yaml.org,2002:", "str") => Ok(Tagged::Str),
            ("tag:yaml.org,2002:", "int" | "float" | "bool" | "null" | "map" | "seq") => Ok(Tagged::None),
            (handle, suffix) => {
                let written =
                    if handle == "tag:yaml.org,2002:" { format!("!!{suffix}") } else { format!("{handle}{suffix}") };
                let path = self.next_path();
                Err(self.error(
                    mark,
                    &path,
                    format!("YAML tag `{written}` means nothing to Compose"),
                    Some("Compose knows the tags `!reset` and `!override`; remove the tag, or quote the value if it is text"),
                ))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tagged {
    None,
    Str,
    Reset,
    Override,
}

impl Tagged {
    fn merge_tag(self) -> Tag {
        match self {
            Tagged::Reset => Tag::Reset,
            Tagged::Override => Tag::Override,
            Tagged::None | Tagged::Str => Tag::None,
        }
    }
}

/// Adds the entries of each `<<` source the mapping does not write itself;
/// the first source to write a key wins. `Err` holds where a source that is
/// not a mapping (or list of mappings) is written.
fn apply_merge_keys(
    mut entries: Vec<(String, Node)>,
    merges: Vec<Node>,
) -> std::result::Result<Vec<(String, Node)>, At> {
    for source in merges {
        let at = source.at.clone();
        let mappings = match source.kind {
            Kind::Map(mapping) => vec![mapping],
            Kind::Seq(items) => items
                .into_iter()
                .map(|item| match item.kind {
                    Kind::Map(mapping) => Ok(mapping),
                    _ => Err(item.at),
                })
                .collect::<std::result::Result<Vec<_>, At>>()?,
            _ => return Err(at),
        };
        for mapping in mappings {
            for (key, node) in mapping {
                if !entries.iter().any(|(name, _)| *name == key) {
                    entries.push((key, node));
                }
            }
        }
    }
    Ok(entries)
}

/// A plain scalar by the YAML 1.2 core schema.
fn resolve(text: &str) -> Kind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Kind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let integer = if let Some(hex) = text.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(octal) = text.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok()
    } else if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    };
    if let Some(integer) = integer {
        return Kind::Int(integer);
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let float_like = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned.bytes().all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
        && unsigned.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    match text.parse::<f64>() {
        Ok(value) if float_like => Kind::Float(value),
        _ => Kind::Str(text.to_string()),
    }
}

fn syntax_help(info: &str) -> Option<&'static str> {
    if info.contains("tab") {
        Some("YAML indentation must use spaces, not tabs")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<Path> {
        Arc::from(Path::new("compose.yaml"))
    }

    fn one(text: &str) -> Node {
        let mut documents = parse(&file(), text.as_bytes()).unwrap();
        assert_eq!(documents.len(), 1, "{text}");
        documents.remove(0)
    }

    fn error(text: &str) -> String {
        parse(&file(), text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let node = one("a: 1\nb: '1'\nc: 0x1f\nd: 1.5\ne: true\nf: ~\ng: yes\nh: 1e3\ni: \"x\"\nj: 08\nk: -.inf\n");
        let kinds: Vec<&Kind> = node.entries().iter().map(|(_, node)| &node.kind).collect();
        assert_eq!(
            kinds,
            [
                &Kind::Int(1),
                &Kind::Str("1".into()),
                &Kind::Int(31),
                &Kind::Float(1.5),
                &Kind::Bool(true),
                &Kind::Null,
                &Kind::Str("yes".into()),
                &Kind::Float(1000.0),
                &Kind::Str("x".into()),
                &Kind::Int(8),
                &Kind::Float(f64::NEG_INFINITY),
            ]
        );
    }

    #[test]
    fn positions_are_kept_per_key_and_item() {
        let node = one("services:\n  web:\n    ports:\n      - 80\n");
        let web = node.get("services").unwrap().get("web").unwrap();
        assert_eq!((web.at.line, web.at.column), (2, 3));
        let port = &web.get("ports").unwrap().items()[0];
        assert_eq!((port.at.line, port.at.column), (4, 9));
    }

    #[test]
    fn merge_keys_add_what_the_mapping_does_not_write_and_the_first_source_wins() {
        let node =
            one("x-a: &a {image: a, user: a}\nx-b: &b {image: b, shm_size: 1g}\nweb:\n  <<: [*a, *b]\n  user: own\n");
        let web = node.get("web").unwrap();
        let pairs: Vec<(&str, &str)> =
            web.entries().iter().map(|(key, node)| (key.as_str(), node.as_str().unwrap())).collect();
        assert_eq!(pairs, [("user", "own"), ("image", "a"), ("shm_size", "1g")]);
        // The copied keys point where the anchor wrote them.
        assert_eq!(web.get("image").unwrap().at.line, 1);
        let error = error("web:\n  <<: 3\n");
        assert!(error.starts_with("error: the merge key `<<` takes a mapping or a list of mappings\n  --> compose.yaml:2:3\n  = key: web.\"<<\""), "{error}");
    }

    #[test]
    fn a_quoted_merge_key_is_an_ordinary_key() {
        let node = one("a:\n  '<<': 1\n");
        assert_eq!(node.get("a").unwrap().get("<<").unwrap().kind, Kind::Int(1));
    }

    #[test]
    fn reset_and_override_tags_stay_on_their_nodes() {
        let node = one("a: !reset []\nb: !override\n  - x\nc: !!str 80\n");
        assert_eq!(node.get("a").unwrap().tag, Tag::Reset);
        assert_eq!(node.get("b").unwrap().tag, Tag::Override);
        assert_eq!(node.get("c").unwrap().kind, Kind::Str("80".into()));
        assert_eq!(
            error("a: !Ref x\n"),
            "error: YAML tag `!Ref` means nothing to Compose\n  --> compose.yaml:1:9\n  = key: a\n  = help: Compose knows the tags `!reset` and `!override`; remove the tag, or quote the value if it is text"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_at_the_second() {
        assert_eq!(
            error("services:\n  web:\n    image: a\n    image: b\n"),
            "error: invalid YAML: key `image` appears twice in the same mapping\n  --> compose.yaml:4:5\n  = key: services.web.image\n  = help: a key may appear once per mapping; merge the two entries or rename one"
        );
    }

    #[test]
    fn documents_are_returned_in_order_and_empty_ones_dropped() {
        let documents = parse(&file(), b"a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(documents.len(), 2);
        assert!(parse(&file(), b"# nothing\n").unwrap().is_empty());
    }

    #[test]
    fn alias_bombs_stop_at_the_node_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..8 {
            let previous = format!("*a{}", level - 1);
            text.push_str(&format!("a{level}: &a{level} [{}]\n", vec![previous; 10].join(", ")));
        }
        let error = error(&text);
        assert!(error.starts_with("error: the file expands to more than 500000 YAML nodes"), "{error}");
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let flow = format!("a: {}{}\n", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(error(&flow).starts_with("error: the file nests deeper than 64 levels"));
        let deep = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
        assert!(error(&deep).starts_with("error: the file nests deeper than 64 levels"));
        let big = "a: 1\n".repeat(MAX_FILE_BYTES / 5 + 1);
        assert!(error(&big).starts_with("error: Compose file is larger than 8 MiB"));
        assert!(parse(&file(), b"a: \xff\n").unwrap_err().to_string().contains("not valid UTF-8"));
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let error = error("services:\n  web: [\n");
        assert!(error.starts_with("error: invalid YAML: "), "{error}");
        assert!(error.contains("--> compose.yaml:"), "{error}");
    }

    #[test]
    fn collection_keys_are_refused() {
        assert!(error("? [a]\n: 1\n").starts_with("error: a Compose mapping key must be a string"));
    }
}
