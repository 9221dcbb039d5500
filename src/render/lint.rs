//! Checks at load time that every escaped interpolation stands where its
//! escaped form means the value itself: a whole YAML scalar, a whole shell
//! word. Escaping makes `{{ x }}` one double-quoted YAML scalar or one quoted
//! shell word, which is right as a mapping value but wrong inside a quoted
//! string (`"…{{ x }}…"`: the quotes would nest), inside a YAML block scalar
//! or a shell here-document (the quotes would be taken literally), or glued to
//! YAML text (`{{ x }}-env` is not one scalar). Comments may hold anything.
//!
//! A small lexer reads the template source as the output will read it: Tera
//! tags and comments produce nothing (they are boundaries, and their `-`
//! whitespace control trims the text beside them), `{% raw %}` content and
//! literal-string expressions are text, and interpolations are values. The
//! text is tracked the way YAML (quotes, `#` comments, `|`/`>` block scalars,
//! YAML 1.2.2 §6.8, §7.3, §8.1) or the POSIX shell (quotes, `#` comments,
//! `<<` here-documents, POSIX shell §2.2, §2.3, §2.7.4) reads it. Control flow
//! is read straight through, branch after branch: templates keep quotes
//! balanced within a branch. Line-oriented (`line`) templates are not checked.

use tera::ast::{Expr, ExprVal, Node};

use super::escape::EscapeKind;
use super::rewrite::is_escaped;

/// One interpolation in a place its escaped value cannot stand.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    /// Byte offset of the interpolation's `{{` in the source.
    pub offset: usize,
    pub message: String,
    pub help: String,
}

/// Every misplaced interpolation of a template source written as `kind`;
/// `parsed` is Tera's parse of `source`, whose interpolations kiln reads
/// instead of parsing each one again.
pub fn lint(source: &str, parsed: &tera::Template, kind: EscapeKind) -> Vec<Finding> {
    let events = events(&pieces(source), &parsed.ast, kind);
    match kind {
        EscapeKind::Yaml => Yaml::default().run(&events),
        EscapeKind::Shell => Shell::default().run(&events),
        EscapeKind::Line => Vec::new(),
    }
}

/// A stretch of template source.
#[derive(Debug)]
enum Piece<'a> {
    /// Output text; `raw` text (of `{% raw %}`) is not trimmed by its neighbours.
    Text { start: usize, text: &'a str, raw: bool },
    /// An interpolation `{{ … }}`, with its source.
    Expr { start: usize, source: &'a str, trim_left: bool, trim_right: bool },
    /// A tag or a comment: no output.
    Tag { trim_left: bool, trim_right: bool },
}

/// Splits a template into text, interpolations and tags, then applies `-`
/// whitespace control as Tera does: it trims the neighbouring text.
fn pieces(source: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut at = 0;
    while let Some(rest) = source.get(at..) {
        if rest.is_empty() {
            break;
        }
        let Some(open) = find_open(rest) else {
            pieces.push(Piece::Text { start: at, text: rest, raw: false });
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text { start: at, text: rest.get(..open).unwrap_or_default(), raw: false });
        }
        let start = at + open;
        let tail = source.get(start..).unwrap_or_default();
        let close = if tail.starts_with("{#") {
            "#}"
        } else if tail.starts_with("{%") {
            "%}"
        } else {
            "}}"
        };
        let Some(length) = tag_length(tail, close) else {
            pieces.push(Piece::Text { start, text: tail, raw: false });
            break;
        };
        let tag = tail.get(..length).unwrap_or_default();
        let trim_left = tag.get(2..3) == Some("-");
        let trim_right = tag.get(length.saturating_sub(3)..length.saturating_sub(2)) == Some("-");
        at = start + length;
        if close == "}}" {
            pieces.push(Piece::Expr { start, source: tag, trim_left, trim_right });
            continue;
        }
        pieces.push(Piece::Tag { trim_left, trim_right });
        if close == "%}" && tag_word(tag) == "raw" {
            if let Some((content, end_start, end_length)) = raw_content(source, at) {
                pieces.push(Piece::Text { start: at, text: content, raw: true });
                let end_tag = source.get(end_start..end_start + end_length).unwrap_or_default();
                let trim_left = end_tag.get(2..3) == Some("-");
                let trim_right = end_tag.get(end_length.saturating_sub(3)..end_length.saturating_sub(2)) == Some("-");
                pieces.push(Piece::Tag { trim_left, trim_right });
                at = end_start + end_length;
            }
        }
    }
    trim(pieces)
}

/// The first `{{`, `{%` or `{#` in `text`.
fn find_open(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| bytes.get(i) == Some(&b'{') && matches!(bytes.get(i + 1), Some(b'{' | b'%' | b'#')))
}

/// Length of the tag starting `text`, up to and including `close`, skipping
/// Tera string literals (which have no escapes) inside `{{ }}` and `{% %}`.
fn tag_length(text: &str, close: &str) -> Option<usize> {
    if close == "#}" {
        return text.find(close).map(|end| end + 2);
    }
    let mut quote: Option<char> = None;
    for (index, c) in text.char_indices().skip(2) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '"' | '\'' | '`') => quote = Some(c),
            None if text.get(index..).is_some_and(|rest| rest.starts_with(close)) => return Some(index + 2),
            None => {}
        }
    }
    None
}

/// The first word of a `{% … %}` tag: `raw`, `endraw`, `if`…
fn tag_word(tag: &str) -> &str {
    let inner = tag.get(2..tag.len().saturating_sub(2)).unwrap_or_default();
    inner.trim_matches('-').split_whitespace().next().unwrap_or_default()
}

/// The content of a raw block starting at `from`, and where its `endraw` tag starts and how long it is.
fn raw_content(source: &str, from: usize) -> Option<(&str, usize, usize)> {
    let mut at = from;
    loop {
        let rest = source.get(at..)?;
        let open = rest.find("{%")?;
        let start = at + open;
        let length = source.get(start..)?.find("%}")? + 2;
        let tag = source.get(start..start + length)?;
        if tag_word(tag) == "endraw" {
            return Some((source.get(from..start)?, start, length));
        }
        at = start + 2;
    }
}

/// Applies whitespace control: a `-` on a tag's side trims the text there.
fn trim(mut pieces: Vec<Piece<'_>>) -> Vec<Piece<'_>> {
    let sides: Vec<(bool, bool)> = pieces
        .iter()
        .map(|piece| match piece {
            Piece::Expr { trim_left, trim_right, .. } | Piece::Tag { trim_left, trim_right } => {
                (*trim_left, *trim_right)
            }
            Piece::Text { .. } => (false, false),
        })
        .collect();
    for index in 0..pieces.len() {
        let trims_before = index + 1 < sides.len() && sides.get(index + 1).is_some_and(|side| side.0);
        let trims_after = index > 0 && sides.get(index - 1).is_some_and(|side| side.1);
        if let Some(Piece::Text { start, text, raw: false }) = pieces.get_mut(index) {
            if trims_before {
                *text = text.trim_end();
            }
            if trims_after {
                let trimmed = text.trim_start();
                *start += text.len() - trimmed.len();
                *text = trimmed;
            }
        }
    }
    pieces
}

/// What the output holds, in order.
#[derive(Debug, Clone)]
enum Event<'a> {
    Char(char),
    /// An interpolation kiln escapes (others are left out: kiln trusts them anywhere).
    Value {
        offset: usize,
        source: &'a str,
    },
    /// A tag, a comment or a trusted interpolation: no text of its own.
    Boundary,
}

fn events<'a>(pieces: &[Piece<'a>], ast: &[Node], kind: EscapeKind) -> Vec<Event<'a>> {
    let mut interpolations = Vec::new();
    interpolations_in(ast, &mut interpolations);
    let count = pieces.iter().filter(|piece| matches!(piece, Piece::Expr { .. })).count();
    // Tera's AST keeps its interpolations in source order, one per `{{ }}`.
    // Should a future Tera ever disagree with the lexer, each one is parsed alone.
    let mut from_ast = (interpolations.len() == count).then(|| interpolations.into_iter());
    let mut events = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text { text, .. } => events.extend(text.chars().map(Event::Char)),
            Piece::Tag { .. } => events.push(Event::Boundary),
            Piece::Expr { start, source, .. } => {
                let parsed_alone;
                let expr = match from_ast.as_mut() {
                    Some(from_ast) => from_ast.next().flatten(),
                    None => {
                        parsed_alone = tera::Template::new("lint", None, source).ok();
                        parsed_alone.as_ref().and_then(|template| match template.ast.first() {
                            Some(Node::VariableBlock(_, expr)) => Some(expr),
                            _ => None,
                        })
                    }
                };
                match expr {
                    Some(expr) if expr.filters.is_empty() && !expr.negated => match &expr.val {
                        ExprVal::String(text) => events.extend(text.chars().map(Event::Char)),
                        _ if is_escaped(expr, kind) => events.push(Event::Value { offset: *start, source }),
                        _ => events.push(Event::Boundary),
                    },
                    Some(expr) if !is_escaped(expr, kind) => events.push(Event::Boundary),
                    _ => events.push(Event::Value { offset: *start, source }),
                }
            }
        }
    }
    events
}

/// The interpolations of `nodes` in source order: a `{{ }}` expression, or
/// `None` for `{{ super() }}`, which Tera keeps as a node of its own.
fn interpolations_in<'a>(nodes: &'a [Node], found: &mut Vec<Option<&'a Expr>>) {
    for node in nodes {
        match node {
            Node::VariableBlock(_, expr) => found.push(Some(expr)),
            Node::Super => found.push(None),
            Node::MacroDefinition(_, definition, _) => interpolations_in(&definition.body, found),
            Node::FilterSection(_, section, _) => interpolations_in(&section.body, found),
            Node::Block(_, block, _) => interpolations_in(&block.body, found),
            Node::Forloop(_, forloop, _) => {
                interpolations_in(&forloop.body, found);
                interpolations_in(forloop.empty_body.as_deref().unwrap_or_default(), found);
            }
            Node::If(branches, _) => {
                for (_, _, body) in &branches.conditions {
                    interpolations_in(body, found);
                }
                interpolations_in(
                    branches.otherwise.as_ref().map(|(_, body)| body.as_slice()).unwrap_or_default(),
                    found,
                );
            }
            Node::Text(_)
            | Node::Extends(..)
            | Node::Include(..)
            | Node::ImportMacro(..)
            | Node::Set(..)
            | Node::Raw(..)
            | Node::Break(_)
            | Node::Continue(_)
            | Node::Comment(..) => {}
        }
    }
}

/// The expression of an interpolation's source: `{{- a ~ b }}` → `a ~ b`.
fn inner(source: &str) -> &str {
    let inner = source.get(2..source.len().saturating_sub(2)).unwrap_or(source);
    inner.trim_start_matches('-').trim_end_matches('-').trim()
}

const NAME_IN_STRING: &str = "for a name inside a string use `| ident`";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum YamlState {
    #[default]
    Plain,
    Double,
    Single,
    Comment,
    /// In a `|` or `>` block scalar opened on a line indented by `parent`;
    /// its first content line sets the `content` indentation (§8.1.1.1).
    Block {
        parent: usize,
        content: Option<usize>,
    },
}

/// The YAML reading of a template's output.
#[derive(Default)]
struct Yaml {
    state: YamlState,
    /// Leading spaces of the current line; `indent` is set at its first text.
    spaces: usize,
    indent: Option<usize>,
    /// The current line's plain text (outside quotes and comments), values as U+0001.
    plain: String,
    /// The last character of the current line (a value counts as one).
    prev: Option<char>,
    escape_next: bool,
    /// The next event is the second quote of `''`.
    skip_next: bool,
    /// Events before this index belong to a glued run already reported.
    glued_until: usize,
    /// Depth of open flow collections (`[`, `{`).
    flow: usize,
    findings: Vec<Finding>,
}

impl Yaml {
    fn run(mut self, events: &[Event<'_>]) -> Vec<Finding> {
        let mut index = 0;
        while let Some(event) = events.get(index) {
            self.event(events, index, event);
            index += 1;
            // `''` inside a single-quoted scalar is one quote, not its end.
            if self.skip_next {
                self.skip_next = false;
                index += 1;
            }
        }
        self.findings
    }

    fn event(&mut self, events: &[Event<'_>], index: usize, event: &Event<'_>) {
        if self.indent.is_none() {
            match event {
                Event::Char(' ') => {
                    self.spaces += 1;
                    return;
                }
                Event::Char('\n') | Event::Boundary => {}
                Event::Char(_) | Event::Value { .. } => {
                    self.indent = Some(self.spaces);
                    if let YamlState::Block { parent, content } = self.state {
                        let content = content.unwrap_or(self.spaces);
                        self.state = if self.spaces <= parent || self.spaces < content {
                            YamlState::Plain
                        } else {
                            YamlState::Block { parent, content: Some(content) }
                        };
                    }
                }
            }
        }
        match (self.state, event) {
            (_, Event::Char('\n')) => self.end_line(),
            (_, Event::Boundary) => {}
            (YamlState::Block { .. }, Event::Value { offset, source }) => self.find(
                *offset,
                format!("`{source}` is inside a YAML block scalar (`|` or `>`), where kiln's quoted value would be taken literally"),
                format!("{NAME_IN_STRING} (`{{{{ {} | ident }}}}`), or build the whole text in one expression", inner(source)),
            ),
            (YamlState::Double | YamlState::Single, Event::Value { offset, source }) => self.find(
                *offset,
                format!("`{source}` is inside a quoted string; kiln writes each value as a whole, quoted YAML scalar"),
                format!(
                    "remove the quotes around it, or build the whole string in one expression (`{{{{ \"text \" ~ {expr} }}}}`); \
                     {NAME_IN_STRING} (`{{{{ {expr} | ident }}}}`), inside JSON drop the quotes or use `| to_json`",
                    expr = inner(source)
                ),
            ),
            (YamlState::Plain, Event::Value { offset, source }) => {
                self.glue(events, index, *offset, source);
                self.plain.push('\u{1}');
                self.prev = Some('\u{1}');
            }
            (_, Event::Value { .. }) => {}
            (_, Event::Char(c)) => {
                let next = events.get(index + 1);
                self.char(*c, matches!(next, Some(Event::Char('\''))));
            }
        }
    }

    /// One character of text; `quote_next` says whether a `'` follows it.
    fn char(&mut self, c: char, quote_next: bool) {
        match self.state {
            YamlState::Plain => {
                let at_start = self.prev.is_none_or(char::is_whitespace);
                if c == '#' && at_start {
                    self.state = YamlState::Comment;
                } else if (c == '"' || c == '\'') && (at_start || self.prev.is_some_and(|p| "[{,:".contains(p))) {
                    self.state = if c == '"' { YamlState::Double } else { YamlState::Single };
                } else {
                    // A bracket opens a flow collection only where a node starts.
                    if (c == '[' || c == '{') && (at_start || self.prev.is_some_and(|p| "[{,:".contains(p))) {
                        self.flow += 1;
                    } else if (c == ']' || c == '}') && self.flow > 0 {
                        self.flow -= 1;
                    }
                    self.plain.push(c);
                }
            }
            YamlState::Double if self.escape_next => self.escape_next = false,
            YamlState::Double if c == '\\' => self.escape_next = true,
            YamlState::Double if c == '"' => self.state = YamlState::Plain,
            YamlState::Single if c == '\'' && quote_next => self.skip_next = true,
            YamlState::Single if c == '\'' => self.state = YamlState::Plain,
            YamlState::Double | YamlState::Single | YamlState::Comment | YamlState::Block { .. } => {}
        }
        self.prev = Some(c);
    }

    fn end_line(&mut self) {
        if matches!(self.state, YamlState::Plain | YamlState::Comment) {
            self.state = YamlState::Plain;
            if opens_block_scalar(&self.plain) {
                self.state = YamlState::Block { parent: self.indent.unwrap_or(0), content: None };
            }
        }
        self.plain.clear();
        self.spaces = 0;
        self.indent = None;
        self.prev = None;
    }

    /// A value must be a whole plain-scalar position: after `key: `, `- `,
    /// `[`, `{` or `,` (in flow) or at a line's start, and before the line's
    /// end, ` #`, `: `, or `,`, `]`, `}` (in flow). Otherwise it is part of a
    /// longer scalar (`{{ a }}-env`, `x{{ a }}`, `expr: up > {{ a }}`). A
    /// scalar holding several values is reported once, at its first.
    fn glue(&mut self, events: &[Event<'_>], index: usize, offset: usize, source: &str) {
        if index < self.glued_until {
            return;
        }
        let flow = self.flow > 0;
        if starts_scalar(events, index, flow) && ends_scalar(events, index, flow) {
            return;
        }
        let mut first = index;
        while first > 0 && !starts_scalar(events, first, flow) {
            first -= 1;
        }
        let mut last = index;
        while last + 1 < events.len() && !ends_scalar(events, last, flow) {
            last += 1;
        }
        self.glued_until = last + 1;
        let mut shown = String::new();
        let mut parts: Vec<String> = Vec::new();
        let mut text = String::new();
        for event in events.iter().take(last + 1).skip(first) {
            match event {
                Event::Char(c) => {
                    shown.push(*c);
                    text.push(*c);
                }
                Event::Value { source, .. } => {
                    shown.push_str(source);
                    if !text.is_empty() {
                        parts.push(format!("{:?}", std::mem::take(&mut text)));
                    }
                    parts.push(inner(source).to_string());
                }
                Event::Boundary => {}
            }
        }
        if !text.is_empty() {
            parts.push(format!("{text:?}"));
        }
        self.find(
            offset,
            format!("`{source}` is part of the longer YAML scalar `{}`; kiln writes each value as a whole, quoted scalar", shown.trim()),
            format!(
                "build the whole scalar in one expression: `{{{{ {} }}}}` (set a variable first if a value has filters); \
                 for a number inside text use `| int`, for a name `| ident`",
                parts.join(" ~ ")
            ),
        );
    }

    fn find(&mut self, offset: usize, message: String, help: String) {
        self.findings.push(Finding { offset, message, help });
    }
}

fn is_space(event: Option<&Event<'_>>) -> bool {
    matches!(event, Some(Event::Char(' ' | '\t')))
}

/// Whether nothing but a line start, a tag, an indicator or flow punctuation
/// comes before `events[index]` in its scalar.
fn starts_scalar(events: &[Event<'_>], index: usize, flow: bool) -> bool {
    let mut at = index;
    while at > 0 && is_space(events.get(at - 1)) {
        at -= 1;
    }
    let spaced = at < index;
    let before = |i: usize| i.checked_sub(1).and_then(|i| events.get(i));
    match before(at) {
        None | Some(Event::Char('\n') | Event::Boundary) => true,
        Some(Event::Char('[' | '{' | ',')) => flow,
        Some(Event::Char(':')) => spaced,
        Some(Event::Char('-' | '?')) => {
            spaced && matches!(before(at - 1), None | Some(Event::Char('\n' | ' ' | '\t') | Event::Boundary))
        }
        Some(_) => false,
    }
}

/// Whether nothing but a line end, a tag, a comment, `: ` or flow
/// punctuation comes after `events[index]` in its scalar.
fn ends_scalar(events: &[Event<'_>], index: usize, flow: bool) -> bool {
    let mut at = index + 1;
    while is_space(events.get(at)) {
        at += 1;
    }
    let spaced = at > index + 1;
    match events.get(at) {
        None | Some(Event::Char('\n') | Event::Boundary) => true,
        Some(Event::Char(',' | ']' | '}')) => flow,
        Some(Event::Char('#')) => spaced,
        Some(Event::Char(':')) => {
            matches!(events.get(at + 1), None | Some(Event::Char(' ' | '\t' | '\n') | Event::Boundary))
        }
        Some(_) => false,
    }
}

/// Whether a line's plain text ends in a block scalar indicator: `key: |`,
/// `- >-`, `|2`, with the indicator a token of its own.
fn opens_block_scalar(plain: &str) -> bool {
    let text = plain.trim_end();
    let Some(token) = text.split_whitespace().last() else {
        return false;
    };
    let mut chars = token.chars();
    let indicator = matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '-' | '+' | '1'..='9'));
    let before = text.get(..text.len() - token.len()).unwrap_or_default().trim_end();
    indicator && (before.is_empty() || before.ends_with(':') || before.ends_with('-'))
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum ShellState {
    #[default]
    Plain,
    Single,
    Double,
    Comment,
    /// Inside a here-document, until a line reading `delimiter`.
    Heredoc {
        delimiter: String,
        strip_tabs: bool,
    },
}

/// The POSIX shell reading of a template's output.
#[derive(Default)]
struct Shell {
    state: ShellState,
    /// Here-documents started on the current line, read after it.
    pending: Vec<(String, bool)>,
    line: String,
    prev: Option<char>,
    escape_next: bool,
    findings: Vec<Finding>,
}

impl Shell {
    fn run(mut self, events: &[Event<'_>]) -> Vec<Finding> {
        let mut index = 0;
        while let Some(event) = events.get(index) {
            index += 1;
            match event {
                Event::Boundary => {}
                Event::Value { offset, source } => {
                    self.value(*offset, source);
                    self.line.push('\u{1}');
                    self.prev = Some('\u{1}');
                }
                Event::Char(c) => {
                    if *c == '<' && self.state == ShellState::Plain && !self.escape_next {
                        index = self.heredoc(events, index);
                    }
                    self.char(*c);
                }
            }
        }
        self.findings
    }

    fn value(&mut self, offset: usize, source: &str) {
        let expr = inner(source);
        let (message, help) = match self.state {
            ShellState::Single | ShellState::Double => (
                format!("`{source}` is inside a quoted shell string; kiln writes each value as one quoted shell word"),
                format!(
                    "remove the quotes around it: kiln quotes the value itself (`echo {{{{ {expr} }}}}`, `--flag={{{{ {expr} }}}}`); \
                     {NAME_IN_STRING}"
                ),
            ),
            ShellState::Heredoc { .. } => (
                format!("`{source}` is inside a shell here-document, where kiln's quoting would be taken literally"),
                format!("write the line with `printf '%s\\n' {{{{ {expr} }}}}` instead; {NAME_IN_STRING}"),
            ),
            ShellState::Plain | ShellState::Comment => return,
        };
        self.findings.push(Finding { offset, message, help });
    }

    fn char(&mut self, c: char) {
        if c == '\n' {
            self.end_line();
            return;
        }
        self.line.push(c);
        let escaped = std::mem::take(&mut self.escape_next);
        match &self.state {
            ShellState::Plain if escaped => {}
            ShellState::Plain => match c {
                '\\' => self.escape_next = true,
                '\'' => self.state = ShellState::Single,
                '"' => self.state = ShellState::Double,
                '#' if self.prev.is_none_or(|p| p.is_whitespace() || ";&|()<>".contains(p)) => {
                    self.state = ShellState::Comment;
                }
                _ => {}
            },
            ShellState::Single if c == '\'' => self.state = ShellState::Plain,
            ShellState::Double if escaped => {}
            ShellState::Double if c == '\\' => self.escape_next = true,
            ShellState::Double if c == '"' => self.state = ShellState::Plain,
            _ => {}
        }
        self.prev = Some(c);
    }

    fn end_line(&mut self) {
        match &self.state {
            ShellState::Heredoc { delimiter, strip_tabs } => {
                let line = if *strip_tabs { self.line.trim_start_matches('\t') } else { &self.line };
                if line == delimiter {
                    self.state = ShellState::Plain;
                }
            }
            ShellState::Comment => self.state = ShellState::Plain,
            ShellState::Plain | ShellState::Single | ShellState::Double => {}
        }
        if self.state == ShellState::Plain && !self.escape_next && !self.pending.is_empty() {
            let (delimiter, strip_tabs) = self.pending.remove(0);
            self.state = ShellState::Heredoc { delimiter, strip_tabs };
        }
        self.escape_next = false;
        self.line.clear();
        self.prev = None;
    }

    /// At a `<` in plain text (`events[index]` follows it): a `<<` or `<<-`
    /// operator and its delimiter word, with quotes removed (§2.7.4), become a
    /// pending here-document. Returns where reading goes on.
    fn heredoc(&mut self, events: &[Event<'_>], index: usize) -> usize {
        let char_at = |i: usize| match events.get(i) {
            Some(Event::Char(c)) => Some(*c),
            _ => None,
        };
        if char_at(index) != Some('<') || char_at(index + 1) == Some('<') {
            return index;
        }
        let mut at = index + 1;
        let strip_tabs = char_at(at) == Some('-');
        if strip_tabs {
            at += 1;
        }
        while matches!(char_at(at), Some(' ' | '\t')) {
            at += 1;
        }
        let mut delimiter = String::new();
        while let Some(c) = char_at(at) {
            if c.is_whitespace() || ";&|<>()".contains(c) {
                break;
            }
            if !matches!(c, '\'' | '"' | '\\') {
                delimiter.push(c);
            }
            at += 1;
        }
        if delimiter.is_empty() {
            return index;
        }
        self.pending.push((delimiter, strip_tabs));
        self.line.push_str("<<");
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint_source(source: &str, kind: EscapeKind) -> Vec<Finding> {
        let parsed = tera::Template::new("t", None, source).unwrap();
        let findings = lint(source, &parsed, kind);
        // The interpolations read from the AST and each parsed alone agree.
        let elsewhere = tera::Template::new("t", None, "").unwrap();
        assert_eq!(lint(source, &elsewhere, kind), findings, "{source}");
        findings
    }

    fn yaml(source: &str) -> Vec<String> {
        lint_source(source, EscapeKind::Yaml).into_iter().map(|finding| finding.message).collect()
    }

    fn shell(source: &str) -> Vec<String> {
        lint_source(source, EscapeKind::Shell).into_iter().map(|finding| finding.message).collect()
    }

    #[test]
    fn yaml_accepts_whole_scalars() {
        let source = "a: {{ x }}\n- {{ x }}\n{{ k }}: {{ v }}\n[{{ a }}, {{ b }}]\n{k: {{ v }}}\n\
                      # comment \"{{ x }}\" {{ x }}-y\nb: {{ x | to_json }}-y\nc: \"{{ x | ident }}\"\n\
                      d: {{ m::y() }}\ne: '{{ \"{{\" }}'\nf: {{ a ~ \"-env\" }}\n";
        assert_eq!(yaml(source), Vec::<String>::new());
    }

    #[test]
    fn yaml_refuses_quotes_block_scalars_and_glue() {
        assert_eq!(
            yaml("a: \"x-{{ x }}\"\nb: 'it''s {{ y }}'\n"),
            [
                "`{{ x }}` is inside a quoted string; kiln writes each value as a whole, quoted YAML scalar",
                "`{{ y }}` is inside a quoted string; kiln writes each value as a whole, quoted YAML scalar",
            ]
        );
        assert_eq!(
            yaml("a: |\n    up{ns=\"{{ ns }}\"}\n{%- if x %}\n    more\n{%- endif %}\n  b: {{ ok }}\n"),
            ["`{{ ns }}` is inside a YAML block scalar (`|` or `>`), where kiln's quoted value would be taken literally"]
        );
        assert_eq!(
            yaml("name: {{ a }}-env\nb: x{{ a }}\nc: {{ a }}{{ b }}\n- {{ k }}={{ v }}:{{ e }}\n"),
            [
                "`{{ a }}` is part of the longer YAML scalar `{{ a }}-env`; kiln writes each value as a whole, quoted scalar",
                "`{{ a }}` is part of the longer YAML scalar `x{{ a }}`; kiln writes each value as a whole, quoted scalar",
                "`{{ a }}` is part of the longer YAML scalar `{{ a }}{{ b }}`; kiln writes each value as a whole, quoted scalar",
                "`{{ k }}` is part of the longer YAML scalar `{{ k }}={{ v }}:{{ e }}`; kiln writes each value as a whole, quoted scalar",
            ]
        );
        assert_eq!(
            yaml("expr: up > {{ t }}\n"),
            ["`{{ t }}` is part of the longer YAML scalar `up > {{ t }}`; kiln writes each value as a whole, quoted scalar"]
        );
        assert_eq!(
            lint_source("server: https://{{ a }}:6443\n", EscapeKind::Yaml)[0].help,
            "build the whole scalar in one expression: `{{ \"https://\" ~ a ~ \":6443\" }}` (set a variable first if a value has filters); \
             for a number inside text use `| int`, for a name `| ident`"
        );
    }

    #[test]
    fn yaml_whitespace_control_and_raw_blocks() {
        // `{{- a }}` trims the space: the value is glued to `key:`.
        assert_eq!(yaml("key: {{- a }}\n").len(), 1);
        assert_eq!(yaml("{% raw %}\"{{ a }}\"{% endraw %}\n"), Vec::<String>::new());
        assert_eq!(yaml("x: \"{% raw %}{{a}}{% endraw %}\"\ny: {{ b }}\n"), Vec::<String>::new());
    }

    #[test]
    fn shell_accepts_words_and_comments() {
        let source = "#!/bin/sh\n# {{ x }} 'y\necho {{ x }} --a={{ y }} {{ k }}={{ v }}\n\
                      grep -q {{ x }} \"$f\" # it's {{ x }}\necho '{{ x | ident }}' \"{{ \"{{\" }}\"\n";
        assert_eq!(shell(source), Vec::<String>::new());
    }

    #[test]
    fn shell_refuses_quotes_and_heredocs() {
        assert_eq!(
            shell("echo \"v={{ x }}\"\necho 'a {{ y }}'\ncat <<-'EOF'\n\t{{ z }}\n\tEOF\necho {{ ok }}\n"),
            [
                "`{{ x }}` is inside a quoted shell string; kiln writes each value as one quoted shell word",
                "`{{ y }}` is inside a quoted shell string; kiln writes each value as one quoted shell word",
                "`{{ z }}` is inside a shell here-document, where kiln's quoting would be taken literally",
            ]
        );
    }
}
