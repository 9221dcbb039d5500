//! Checks at load time that every filter, function and test a template names
//! exists. Tera looks a filter up only when it applies it, after evaluating
//! the value: `{{ x | defualt(value=1) }}` with `x` unset fails as "Variable
//! `x` not found", and kiln's advice would then be to use `default`, the very
//! filter that was meant. Reading the names from the parsed templates gives
//! the real error, with "did you mean" and the list of what exists.
//!
//! `default` and `safe` are no registered filters: Tera's renderer applies
//! them itself (`Processor::eval_expression` skips both in the filter chain,
//! tera 1.20 `src/renderer/processor.rs`), so they count as known.
//!
//! The names are taken from Tera's AST (filters of every expression and
//! `{% filter %}` sections, function calls, `is` tests), so strings and
//! comments never count; the position is the name's first appearance after
//! `|`, before `(` or after `is` in the source.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tera::ast::{Expr, ExprVal, FunctionCall, Node};

use super::templates::TEMPLATES_DIR;
use crate::diagnostic::{did_you_mean, line_column};
use crate::error::TemplateSpan;
use crate::Error;

/// What a name is looked up as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Filter,
    Function,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Filter => "filter",
            Kind::Function => "function",
            Kind::Test => "test",
        }
    }
}

/// Every unknown filter, function or test, once per template and name.
pub fn check(tera: &tera::Tera, sources: &BTreeMap<String, String>) -> Vec<Error> {
    let known = |kind: Kind| -> BTreeSet<&str> {
        let names: Vec<&str> = match kind {
            Kind::Filter => tera.filters.keys().map(String::as_str).chain(["default", "safe"]).collect(),
            Kind::Function => tera.functions.keys().map(String::as_str).collect(),
            Kind::Test => tera.testers.keys().map(String::as_str).collect(),
        };
        // kiln's escape filters are appended by kiln, never written.
        names.into_iter().filter(|name| !name.starts_with("__kiln_")).collect()
    };
    let known: HashMap<Kind, BTreeSet<&str>> =
        [Kind::Filter, Kind::Function, Kind::Test].into_iter().map(|kind| (kind, known(kind))).collect();
    let mut errors = Vec::new();
    for (name, template) in &tera.templates {
        let mut used = BTreeSet::new();
        nodes(&template.ast, &mut used);
        for definition in template.macros.values() {
            nodes(&definition.body, &mut used);
        }
        let source = sources.get(name).map_or("", String::as_str);
        for (kind, used_name) in used {
            let Some(known) = known.get(&kind) else { continue };
            if known.contains(used_name.as_str()) {
                continue;
            }
            let list = known.iter().copied().collect::<Vec<_>>().join(", ");
            let help = match did_you_mean(&used_name, known.iter().copied()) {
                Some(close) => format!("did you mean `{close}`? {}s: {list}", kind.name()),
                None => format!("{}s: {list}", kind.name()),
            };
            let path = format!("{TEMPLATES_DIR}/{name}");
            let at = match position(source, kind, &used_name).map(|offset| line_column(source.as_bytes(), offset)) {
                Some((line, column)) => TemplateSpan::at(path, line, Some(column)),
                None => TemplateSpan::file(path),
            };
            errors.push(Error::Output {
                template: Box::new(at),
                scope: None,
                message: format!("unknown {} `{used_name}`", kind.name()),
                help: Some(help),
            });
        }
    }
    errors.sort_by_key(ToString::to_string);
    errors
}

fn nodes(nodes: &[Node], used: &mut BTreeSet<(Kind, String)>) {
    for node in nodes {
        match node {
            Node::VariableBlock(_, value) => expr(value, used),
            Node::Set(_, set) => expr(&set.value, used),
            Node::MacroDefinition(_, definition, _) => {
                for default in definition.args.values().flatten() {
                    expr(default, used);
                }
                self::nodes(&definition.body, used);
            }
            Node::FilterSection(_, section, _) => {
                call(&section.filter, Kind::Filter, used);
                self::nodes(&section.body, used);
            }
            Node::Block(_, block, _) => self::nodes(&block.body, used),
            Node::Forloop(_, forloop, _) => {
                expr(&forloop.container, used);
                self::nodes(&forloop.body, used);
                self::nodes(forloop.empty_body.as_deref().unwrap_or_default(), used);
            }
            Node::If(branches, _) => {
                for (_, condition, body) in &branches.conditions {
                    expr(condition, used);
                    self::nodes(body, used);
                }
                self::nodes(branches.otherwise.as_ref().map(|(_, body)| body.as_slice()).unwrap_or_default(), used);
            }
            Node::Super
            | Node::Text(_)
            | Node::Extends(..)
            | Node::Include(..)
            | Node::ImportMacro(..)
            | Node::Raw(..)
            | Node::Break(_)
            | Node::Continue(_)
            | Node::Comment(..) => {}
        }
    }
}

fn call(function: &FunctionCall, kind: Kind, used: &mut BTreeSet<(Kind, String)>) {
    used.insert((kind, function.name.clone()));
    for argument in function.args.values() {
        expr(argument, used);
    }
}

fn expr(value: &Expr, used: &mut BTreeSet<(Kind, String)>) {
    val(&value.val, used);
    for filter in &value.filters {
        call(filter, Kind::Filter, used);
    }
}

fn val(value: &ExprVal, used: &mut BTreeSet<(Kind, String)>) {
    match value {
        ExprVal::Math(math) => {
            expr(&math.lhs, used);
            expr(&math.rhs, used);
        }
        ExprVal::Logic(logic) => {
            expr(&logic.lhs, used);
            expr(&logic.rhs, used);
        }
        ExprVal::Test(test) => {
            used.insert((Kind::Test, test.name.clone()));
            for argument in &test.args {
                expr(argument, used);
            }
        }
        ExprVal::MacroCall(macro_call) => {
            for argument in macro_call.args.values() {
                expr(argument, used);
            }
        }
        ExprVal::FunctionCall(function) => call(function, Kind::Function, used),
        ExprVal::Array(items) => {
            for item in items {
                expr(item, used);
            }
        }
        ExprVal::StringConcat(concat) => {
            for part in &concat.values {
                val(part, used);
            }
        }
        ExprVal::In(within) => {
            expr(&within.lhs, used);
            expr(&within.rhs, used);
        }
        ExprVal::String(_) | ExprVal::Int(_) | ExprVal::Float(_) | ExprVal::Bool(_) | ExprVal::Ident(_) => {}
    }
}

/// Byte offset of the first place `name` is written as a `kind` in `source`.
fn position(source: &str, kind: Kind, name: &str) -> Option<usize> {
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let bytes = source.as_bytes();
    let mut from = 0;
    while let Some(found) = source.get(from..)?.find(name) {
        let start = from + found;
        let end = start + name.len();
        from = end;
        let whole = !bytes.get(start.wrapping_sub(1)).is_some_and(|&b| is_word(b))
            && !bytes.get(end).is_some_and(|&b| is_word(b));
        if !whole {
            continue;
        }
        let before = source.get(..start)?.trim_end();
        let after = source.get(end..)?.trim_start();
        let fits = match kind {
            Kind::Filter => before.ends_with('|') || before.ends_with("filter"),
            Kind::Function => after.starts_with('(') && !before.ends_with("::") && !before.ends_with('|'),
            Kind::Test => before.ends_with(" is") || before.ends_with(" not"),
        };
        if fits {
            return Some(start);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(source: &str) -> Vec<String> {
        let mut tera = tera::Tera::default();
        super::super::filters::register(&mut tera);
        tera.add_raw_template("t.yaml", source).unwrap();
        let sources = BTreeMap::from([("t.yaml".to_string(), source.to_string())]);
        check(&tera, &sources).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn unknown_names_are_errors_with_the_closest_name() {
        let found = errors("a: {{ x | defualt(value=1) }}\n{% if y is defnied %}{{ rnage(end=2) }}{% endif %}\n");
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("error: unknown filter `defualt`\n  --> templates/t.yaml:1:11\n  = help: did you mean `default`? filters: "), "{}", found[0]);
        assert!(found[1].starts_with("error: unknown function `rnage`\n  --> templates/t.yaml:2:25\n  = help: did you mean `range`? functions: "), "{}", found[1]);
        assert!(
            found[2].starts_with(
                "error: unknown test `defnied`\n  --> templates/t.yaml:2:12\n  = help: did you mean `defined`? tests: "
            ),
            "{}",
            found[2]
        );
    }

    #[test]
    fn names_in_strings_and_known_names_pass() {
        assert_eq!(
            errors("a: {{ \"x | nope\" | upper }}\n{% filter lower %}B{% endfilter %}{{ x is defined }}\n"),
            Vec::<String>::new()
        );
    }
}
