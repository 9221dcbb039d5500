//! Makes every interpolation escape its value for one output kind, by
//! rewriting the parsed templates: each `{{ }}` gets the kind's escape filter
//! appended as its last filter (see [`super::escape`]).
//!
//! Tera's own autoescape is not enough: it escapes only string results, and
//! not those of `~` concatenation, arrays or objects. Rewriting the AST reaches
//! every output expression wherever it is: top level, blocks, macro bodies,
//! `if`/`for`/`filter` bodies. It must run before Tera links the templates
//! (`build_inheritance_chains` copies blocks), once per kind, so a partial's
//! macros escape for the kind of the template that calls them.

use std::collections::HashMap;

use tera::ast::{Expr, ExprVal, FunctionCall, Node};

use super::escape::EscapeKind;

/// Whether kiln escapes an interpolation of this expression. Not escaped: a
/// literal string (template text written as an expression, `{{ "{{" }}`), a
/// bare macro call (its own interpolations are escaped), a negation (a
/// boolean), and an expression whose last filter is a structure filter.
pub fn is_escaped(expr: &Expr, kind: EscapeKind) -> bool {
    if expr.negated {
        return false;
    }
    match (&expr.val, expr.filters.last()) {
        (ExprVal::String(_) | ExprVal::MacroCall(_), None) => false,
        (_, Some(filter)) => !kind.is_structure_filter(&filter.name),
        (_, None) => true,
    }
}

/// Rewrites one parsed, not yet linked template for `kind`.
pub fn rewrite(template: &mut tera::Template, kind: EscapeKind) {
    rewrite_nodes(&mut template.ast, kind);
    for definition in template.macros.values_mut() {
        rewrite_nodes(&mut definition.body, kind);
    }
    for block in template.blocks.values_mut() {
        rewrite_nodes(&mut block.body, kind);
    }
}

fn rewrite_nodes(nodes: &mut [Node], kind: EscapeKind) {
    for node in nodes {
        match node {
            Node::VariableBlock(_, expr) => {
                if is_escaped(expr, kind) {
                    expr.filters.push(FunctionCall { name: kind.filter_name().to_string(), args: HashMap::new() });
                }
            }
            Node::MacroDefinition(_, definition, _) => rewrite_nodes(&mut definition.body, kind),
            Node::FilterSection(_, section, _) => rewrite_nodes(&mut section.body, kind),
            Node::Block(_, block, _) => rewrite_nodes(&mut block.body, kind),
            Node::Forloop(_, forloop, _) => {
                rewrite_nodes(&mut forloop.body, kind);
                if let Some(empty) = &mut forloop.empty_body {
                    rewrite_nodes(empty, kind);
                }
            }
            Node::If(branches, _) => {
                for (_, _, body) in &mut branches.conditions {
                    rewrite_nodes(body, kind);
                }
                if let Some((_, body)) = &mut branches.otherwise {
                    rewrite_nodes(body, kind);
                }
            }
            Node::Super
            | Node::Text(_)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn first_expr(source: &str) -> Expr {
        let template = tera::Template::new("t", None, source).unwrap();
        match template.ast.into_iter().next() {
            Some(Node::VariableBlock(_, expr)) => expr,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decides_what_is_escaped() {
        let yaml = EscapeKind::Yaml;
        assert!(is_escaped(&first_expr("{{ a }}"), yaml));
        assert!(is_escaped(&first_expr("{{ a ~ b }}"), yaml));
        assert!(is_escaped(&first_expr("{{ a | default(value=1) }}"), yaml));
        assert!(is_escaped(&first_expr("{{ m::x() | trim }}"), yaml));
        assert!(!is_escaped(&first_expr("{{ \"{{\" }}"), yaml));
        assert!(!is_escaped(&first_expr("{{ m::x() }}"), yaml));
        assert!(!is_escaped(&first_expr("{{ a | to_json }}"), yaml));
        assert!(is_escaped(&first_expr("{{ a | to_json }}"), EscapeKind::Shell));
        assert!(!is_escaped(&first_expr("{{ a | ident }}"), EscapeKind::Shell));
    }

    #[test]
    fn reaches_nested_bodies_and_macros() {
        let source = "{% macro m(x) %}{% if x %}{% for i in x %}{{ i }}{% endfor %}{% endif %}{% endmacro m %}\
                      {% filter upper %}{{ y }}{% endfilter %}";
        let mut template = tera::Template::new("t", None, source).unwrap();
        rewrite(&mut template, EscapeKind::Shell);
        let text = format!("{:?} {:?}", template.ast, template.macros);
        assert_eq!(text.matches("__kiln_escape_shell").count(), 3, "{text}");
    }
}
