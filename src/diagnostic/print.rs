//! The text form of diagnostics, for errors and findings alike, in the
//! layout of rustc's: a headline (`warning[image-pinned]: …`; the code is
//! what values name in `policyExceptions` and `acknowledgements`, so errors,
//! which nothing can waive, print none), the span to edit on a `-->` line,
//! then `= key`, `= object`, `= rendered`, related spans, notes and `= help`.
//! Colour on a terminal only.

use std::fmt::Write as _;

use super::{Diagnostic, Severity};

/// Every diagnostic, in order, a blank line between them.
pub fn text(diagnostics: &[&Diagnostic], color: bool) -> String {
    let blocks: Vec<String> = diagnostics.iter().map(|diagnostic| one(diagnostic, color)).collect();
    blocks.join("\n\n")
}

/// One diagnostic, without a trailing newline.
pub fn one(diagnostic: &Diagnostic, color: bool) -> String {
    let paint = |code: &str, text: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
    let code = if diagnostic.code.is_empty() { String::new() } else { format!("[{}]", diagnostic.code) };
    let headline = match diagnostic.severity {
        Severity::Error => paint("1;31", &format!("error{code}")),
        Severity::Warning => paint("1;33", &format!("warning{code}")),
    };
    let mut out = format!("{headline}: {}", paint("1", &diagnostic.message));
    let arrow = paint("1;34", "-->");
    let equals = paint("1;34", "=");
    if let Some(span) = &diagnostic.span {
        let _ = write!(out, "\n  {arrow} {span}");
        if let Some(key) = &span.key {
            let _ = write!(out, "\n  {equals} key: {key}");
        }
    }
    if let Some(object) = &diagnostic.object {
        match object.field.as_str() {
            "" => {
                let _ = write!(out, "\n  {equals} object: {}", object.identity);
            }
            field => {
                let _ = write!(out, "\n  {equals} object: {}, at {field}", object.identity);
            }
        }
        let _ = write!(out, "\n  {equals} rendered: {} from {}", object.file, object.template);
    }
    for related in &diagnostic.related {
        let _ = write!(out, "\n  {equals} {}: {}", related.label, related.span);
        if let Some(key) = &related.span.key {
            let _ = write!(out, " ({key})");
        }
    }
    for note in &diagnostic.notes {
        let _ = write!(out, "\n  {equals} {note}");
    }
    if let Some(help) = &diagnostic.help {
        let _ = write!(out, "\n  {equals} help: {help}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Location, ObjectRef, Span};

    #[test]
    fn prints_every_part_in_order() {
        let finding = Diagnostic::new(Severity::Warning, "image-pinned", "image `x` has no tag")
            .with_span(Span::at(&Location::new("values/namespaces/apps.yaml", 12, 7), "workloads.web.image"))
            .with_related(
                "also set here",
                Span::at(&Location::new("values/cluster.yaml", 3, 5), "defaults.workload.image"),
            )
            .with_help("pin it");
        let mut finding = finding;
        finding.object = Some(ObjectRef {
            identity: "Deployment.apps apps/web".into(),
            file: "rendered/namespaces/apps/deployment-web.yaml".into(),
            field: "spec.template.spec.containers[0].image".into(),
            template: "templates/workloads/deployment.yaml (rendering workload apps/web, document 1)".into(),
        });
        assert_eq!(
            one(&finding, false),
            "warning[image-pinned]: image `x` has no tag
  --> values/namespaces/apps.yaml:12:7
  = key: workloads.web.image
  = object: Deployment.apps apps/web, at spec.template.spec.containers[0].image
  = rendered: rendered/namespaces/apps/deployment-web.yaml from templates/workloads/deployment.yaml (rendering workload apps/web, document 1)
  = also set here: values/cluster.yaml:3:5 (defaults.workload.image)
  = help: pin it"
        );
        assert_eq!(
            one(&Diagnostic::new(Severity::Error, "", "no").with_note("cause: x"), true),
            "\u{1b}[1;31merror\u{1b}[0m: \u{1b}[1mno\u{1b}[0m\n  \u{1b}[1;34m=\u{1b}[0m cause: x"
        );
    }
}
