//! Refuses template recursion before anything renders. Tera follows macro
//! calls, includes and extends without a depth limit, so a macro that calls
//! itself (directly or through others, `self::` or an imported namespace), a
//! partial that includes itself or two templates that extend each other would
//! overflow the stack and abort the process. kiln's values are finite, so no
//! template needs recursion: every cycle in the graph of calls, includes and
//! extends is an error naming the chain.
//!
//! Macro namespaces resolve as Tera's renderer resolves them (its
//! `MacroCollection`): `self` is the calling file, then the file's own
//! imports, then what those import, then what its parents import.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tera::ast::{Expr, ExprVal, Node};
use tera::Template;

use super::templates::TEMPLATES_DIR;
use crate::error::TemplateSpan;
use crate::Error;

/// A place rendering can enter: a whole template, or one macro of a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Site {
    File(String),
    Macro(String, String),
}

impl Site {
    fn span(&self) -> TemplateSpan {
        match self {
            Site::File(file) => TemplateSpan::file(format!("{TEMPLATES_DIR}/{file}")),
            Site::Macro(file, name) => TemplateSpan::in_macro(format!("{TEMPLATES_DIR}/{file}"), name),
        }
    }
}

/// Every cycle among the parsed templates, as errors naming the chain.
pub fn check(templates: &HashMap<String, Template>) -> Vec<Error> {
    let graph = graph(templates);
    let mut state: BTreeMap<&Site, Visit> = BTreeMap::new();
    let mut cycles: Vec<Vec<Site>> = Vec::new();
    for start in graph.keys() {
        if state.contains_key(start) {
            continue;
        }
        // Iterative depth-first search: the graph comes from input, its depth must not be the stack's.
        let mut stack: Vec<(&Site, usize)> = vec![(start, 0)];
        state.insert(start, Visit::Open);
        while let Some((site, next)) = stack.pop() {
            let targets = graph.get(site).map_or(&[][..], Vec::as_slice);
            let Some(target) = targets.get(next) else {
                state.insert(site, Visit::Done);
                continue;
            };
            stack.push((site, next + 1));
            match state.get(target) {
                None => {
                    state.insert(target, Visit::Open);
                    stack.push((target, 0));
                }
                Some(Visit::Open) => {
                    let from = stack.iter().position(|(open, _)| *open == target).unwrap_or(0);
                    let mut chain: Vec<Site> = stack.iter().skip(from).map(|(open, _)| (*open).clone()).collect();
                    chain.push(target.clone());
                    cycles.push(chain);
                }
                Some(Visit::Done) => {}
            }
        }
    }
    cycles
        .into_iter()
        .map(|chain| {
            let shown: Vec<String> = chain.iter().map(|site| site.span().to_string()).collect();
            Error::Output {
                template: Box::new(chain.first().map_or_else(|| TemplateSpan::file(""), Site::span)),
                scope: None,
                message: format!("template recursion: {}", shown.join(" → ")),
                help: Some(
                    "a template may not include or extend itself, nor a macro call itself, directly or through others: \
                     rendering would never end; write the repetition as a `{% for %}` loop"
                        .into(),
                ),
            }
        })
        .collect()
}

/// The files each file needs to render: what it extends, includes, imports,
/// and what its macros include or call, directly.
pub fn dependencies(templates: &HashMap<String, Template>) -> BTreeMap<String, BTreeSet<String>> {
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (site, targets) in graph(templates) {
        let (Site::File(file) | Site::Macro(file, _)) = site;
        let entry = needs.entry(file).or_default();
        for target in targets {
            let (Site::File(other) | Site::Macro(other, _)) = target;
            entry.insert(other);
        }
    }
    for (name, template) in templates {
        let entry = needs.entry(name.clone()).or_default();
        entry.extend(template.imported_macro_files.iter().map(|(file, _)| file.clone()));
    }
    needs
}

#[derive(Clone, Copy)]
enum Visit {
    Open,
    Done,
}

/// Which sites each site enters, in a deterministic order.
fn graph(templates: &HashMap<String, Template>) -> BTreeMap<Site, Vec<Site>> {
    let mut graph = BTreeMap::new();
    for (name, template) in templates {
        let mut targets = BTreeSet::new();
        if let Some(parent) = template.parent.as_ref().filter(|parent| templates.contains_key(*parent)) {
            targets.insert(Site::File(parent.clone()));
        }
        let mut found = Found { templates, file: name, targets };
        found.nodes(&template.ast, false);
        graph.insert(Site::File(name.clone()), found.targets.into_iter().collect());
        for (macro_name, definition) in &template.macros {
            let mut found = Found { templates, file: name, targets: BTreeSet::new() };
            found.nodes(&definition.body, true);
            graph.insert(Site::Macro(name.clone(), macro_name.clone()), found.targets.into_iter().collect());
        }
    }
    graph
}

/// Collects the includes and macro calls of one file's nodes.
struct Found<'a> {
    templates: &'a HashMap<String, Template>,
    file: &'a str,
    targets: BTreeSet<Site>,
}

impl Found<'_> {
    /// Macro definitions are their own sites, so a file's walk skips them.
    fn nodes(&mut self, nodes: &[Node], in_macro: bool) {
        for node in nodes {
            match node {
                Node::VariableBlock(_, expr) => self.expr(expr),
                Node::Set(_, set) => self.expr(&set.value),
                Node::Include(_, names, _) => {
                    // Tera renders the first of the names that exists.
                    if let Some(name) = names.iter().find(|name| self.templates.contains_key(*name)) {
                        self.targets.insert(Site::File(name.clone()));
                    }
                }
                Node::MacroDefinition(_, definition, _) if in_macro => self.nodes(&definition.body, true),
                Node::FilterSection(_, section, _) => {
                    section.filter.args.values().for_each(|arg| self.expr(arg));
                    self.nodes(&section.body, in_macro);
                }
                Node::Block(_, block, _) => self.nodes(&block.body, in_macro),
                Node::Forloop(_, forloop, _) => {
                    self.expr(&forloop.container);
                    self.nodes(&forloop.body, in_macro);
                    if let Some(empty) = &forloop.empty_body {
                        self.nodes(empty, in_macro);
                    }
                }
                Node::If(branches, _) => {
                    for (_, condition, body) in &branches.conditions {
                        self.expr(condition);
                        self.nodes(body, in_macro);
                    }
                    if let Some((_, body)) = &branches.otherwise {
                        self.nodes(body, in_macro);
                    }
                }
                _ => {}
            }
        }
    }

    fn expr(&mut self, expr: &Expr) {
        self.value(&expr.val);
        for filter in &expr.filters {
            filter.args.values().for_each(|arg| self.expr(arg));
        }
    }

    fn value(&mut self, value: &ExprVal) {
        match value {
            ExprVal::MacroCall(call) => {
                if let Some(file) = resolve(self.templates, self.file, &call.namespace, &mut BTreeSet::new()) {
                    let defined = self.templates.get(&file).is_some_and(|t| t.macros.contains_key(&call.name));
                    if defined {
                        self.targets.insert(Site::Macro(file, call.name.clone()));
                    }
                }
                call.args.values().for_each(|arg| self.expr(arg));
            }
            ExprVal::FunctionCall(call) => call.args.values().for_each(|arg| self.expr(arg)),
            ExprVal::Math(math) => {
                self.expr(&math.lhs);
                self.expr(&math.rhs);
            }
            ExprVal::Logic(logic) => {
                self.expr(&logic.lhs);
                self.expr(&logic.rhs);
            }
            ExprVal::In(in_test) => {
                self.expr(&in_test.lhs);
                self.expr(&in_test.rhs);
            }
            ExprVal::Test(test) => test.args.iter().for_each(|arg| self.expr(arg)),
            ExprVal::Array(items) => items.iter().for_each(|item| self.expr(item)),
            ExprVal::StringConcat(concat) => concat.values.iter().for_each(|value| self.value(value)),
            ExprVal::String(_) | ExprVal::Int(_) | ExprVal::Float(_) | ExprVal::Bool(_) | ExprVal::Ident(_) => {}
        }
    }
}

/// The file a macro namespace names when used in `file`.
fn resolve(
    templates: &HashMap<String, Template>,
    file: &str,
    namespace: &str,
    seen: &mut BTreeSet<String>,
) -> Option<String> {
    if namespace == "self" {
        return Some(file.to_string());
    }
    if !seen.insert(file.to_string()) {
        return None;
    }
    let template = templates.get(file)?;
    let imports = &template.imported_macro_files;
    if let Some((imported, _)) = imports.iter().find(|(_, name)| name == namespace) {
        return Some(imported.clone());
    }
    let through_imports = imports.iter().find_map(|(imported, _)| resolve(templates, imported, namespace, seen));
    through_imports.or_else(|| {
        let parent = template.parent.as_deref()?;
        resolve(templates, parent, namespace, seen)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(files: &[(&str, &str)]) -> HashMap<String, Template> {
        files.iter().map(|(name, text)| (name.to_string(), Template::new(name, None, text).unwrap())).collect()
    }

    fn messages(files: &[(&str, &str)]) -> Vec<String> {
        check(&parsed(files))
            .into_iter()
            .map(|error| match error {
                Error::Output { message, .. } => message,
                other => other.to_string(),
            })
            .collect()
    }

    #[test]
    fn finds_macro_include_and_extends_cycles() {
        assert_eq!(
            messages(&[("_a.tera", "{% macro m() %}{{ self::m() }}{% endmacro m %}")]),
            ["template recursion: templates/_a.tera::m → templates/_a.tera::m"]
        );
        assert_eq!(
            messages(&[
                ("_a.tera", "{% import \"_b.tera\" as b %}{% macro m() %}{{ b::n() }}{% endmacro m %}"),
                ("_b.tera", "{% import \"_a.tera\" as a %}{% macro n() %}{% set x = a::m() %}{% endmacro n %}"),
            ]),
            ["template recursion: templates/_a.tera::m → templates/_b.tera::n → templates/_a.tera::m"]
        );
        assert_eq!(
            messages(&[("_a.tera", "{% include \"_b.tera\" %}"), ("_b.tera", "{% include \"_a.tera\" %}")]),
            ["template recursion: templates/_a.tera → templates/_b.tera → templates/_a.tera"]
        );
        assert_eq!(
            messages(&[("_a.tera", "{% extends \"_b.tera\" %}"), ("_b.tera", "{% extends \"_a.tera\" %}")]),
            ["template recursion: templates/_a.tera → templates/_b.tera → templates/_a.tera"]
        );
    }

    #[test]
    fn accepts_a_diamond() {
        let files = [
            ("x.yaml", "{% import \"_a.tera\" as a %}{% import \"_b.tera\" as b %}{{ a::m() }}{{ b::n() }}"),
            ("_a.tera", "{% import \"_b.tera\" as b %}{% macro m() %}{{ b::n() }}{{ b::n() }}{% endmacro m %}"),
            ("_b.tera", "{% macro n() %}x{% endmacro n %}"),
        ];
        assert!(messages(&files).is_empty());
    }
}
