//! The docs tell the truth about this repository: the README's examples are
//! what kiln prints for it, the figures in README.md and docs/validation.md
//! are what kiln computes, and every cross-reference to a section of the
//! README or a doc ("README, \"Runbook: sealing a secret\"", "`docs/runbooks.md`,
//! \"The sealing key\"") names a heading or bold paragraph title that exists.

use std::process::Command;

use regex::Regex;

use crate::harness::{read_tree, root, Repo, KILN};

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The fenced ```text block of `doc` whose first line starts with `first`, without the fences.
fn block(doc: &str, first: &str) -> Vec<String> {
    let start = doc.find(&format!("```text\n{first}")).unwrap_or_else(|| panic!("no ```text block starting {first:?}"));
    let body = &doc[start + "```text\n".len()..];
    body[..body.find("```").unwrap()].lines().map(str::to_string).collect()
}

/// Whether `expected` (lines, `...` standing for any number of lines left out)
/// is `actual` with only those lines left out.
fn matches_with_gaps(expected: &[String], actual: &[&str]) -> bool {
    let chunks: Vec<&[String]> = expected.split(|line| line == "...").collect();
    let mut at = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        let (first, last) = (index == 0, index == chunks.len() - 1);
        if chunk.is_empty() {
            continue;
        }
        let fits = |from: usize| actual.get(from..from + chunk.len()).is_some_and(|window| window == *chunk);
        let found = if first { fits(0).then_some(0) } else { (at..actual.len()).find(|&from| fits(from)) };
        let Some(from) = found else { return false };
        at = from + chunk.len();
        if last && at != actual.len() {
            return false;
        }
    }
    true
}

#[test]
fn readme_explain_example_is_what_kiln_prints() {
    let example = block(&readme(), "$ kiln explain ");
    let (command, expected) = example.split_first().unwrap();
    let args: Vec<&str> = command.trim_start_matches("$ kiln ").split_whitespace().collect();
    // explain only reads values: it runs on this repository itself.
    let output = Command::new(KILN).arg("-C").arg(root()).args(&args).env("NO_COLOR", "1").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let actual: Vec<&str> = stdout.lines().collect();
    assert!(
        matches_with_gaps(expected, &actual),
        "the README's `{command}` example is not what kiln prints; README:\n{}\nkiln:\n{stdout}",
        expected.join("\n")
    );
}

#[test]
fn readme_error_example_is_what_kiln_prints_for_that_typo() {
    // The README's error block names the file, line, column and misspelt key:
    // make that typo in a copy of this repository and compare.
    let expected = block(&readme(), "error: unknown key `");
    let location = Regex::new(r"^  --> (values/\S+):(\d+):(\d+)$").unwrap();
    let captures = expected.iter().find_map(|line| location.captures(line)).expect("a --> file:line:col line");
    let (file, line, column) =
        (&captures[1], captures[2].parse::<usize>().unwrap(), captures[3].parse::<usize>().unwrap());
    let typo = Regex::new(r"^error: unknown key `(.+)`$").unwrap().captures(&expected[0]).unwrap()[1].to_string();
    let right =
        Regex::new(r"did you mean `(.+)`\?$").unwrap().captures(expected.last().unwrap()).unwrap()[1].to_string();
    let repo = Repo::this_repository();
    let text = repo.read(file);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let target = &mut lines[line - 1];
    assert_eq!(
        target.get(column - 1..column - 1 + right.len()),
        Some(right.as_str()),
        "{file}:{line}:{column} holds `{right}`"
    );
    target.replace_range(column - 1..column - 1 + right.len(), &typo);
    repo.write(file, format!("{}\n", lines.join("\n")).as_bytes());
    repo.kiln(&["render"]).code(2).stderr(&expected.join("\n"));
}

#[test]
fn readme_render_summary_and_warning_count_are_this_repository() {
    let readme = readme();
    let summary = Regex::new(r"`(rendered \d+ objects into \d+ files: 0 added, 0 changed, 0 removed)`").unwrap();
    let summary = &summary.captures(&readme).expect("the README's render summary")[1];
    let repo = Repo::this_repository();
    repo.kiln(&["render"]).code(0);
    // A second render changes nothing: the README's line, exactly.
    repo.kiln(&["render"]).code(0).stdout(summary).stderr("");
    let warnings = Regex::new(r"This repository has (\d+) standing warnings, all from `plan`'s node-loss").unwrap();
    let readme_count: usize = warnings.captures(&readme).expect("the README's warning count")[1].parse().unwrap();
    let validation = std::fs::read_to_string(root().join("docs/validation.md")).unwrap();
    let node_loss = Regex::new(r"node loss gives (\d+) warnings").unwrap();
    let validation_count: usize =
        node_loss.captures(&validation).expect("docs/validation.md's count")[1].parse().unwrap();
    let plan = repo.kiln(&["plan", "--format", "json"]);
    plan.code(0);
    let findings: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let findings = findings["findings"]["findings"].as_array().unwrap();
    let node_loss_findings = findings.iter().filter(|finding| finding["code"] == "plan-node-loss").count();
    assert_eq!(findings.len(), node_loss_findings, "every plan finding is a node-loss warning: {findings:#?}");
    // Each is acknowledged with a reason, so the render above printed nothing but its summary.
    assert!(findings.iter().all(|finding| finding["acknowledged"].is_string()), "{findings:#?}");
    assert_eq!(
        (readme_count, validation_count),
        (node_loss_findings, node_loss_findings),
        "README, docs/validation.md"
    );
}

/// Headings and bold paragraph titles (`**No-change renders are free.**`) of a Markdown file.
fn titles(markdown: &str) -> Vec<String> {
    let heading = Regex::new(r"(?m)^#+\s+(.+?)\s*$").unwrap();
    let bold = Regex::new(r"(?m)^\*\*([^*]+?)\.?\*\*").unwrap();
    heading.captures_iter(markdown).chain(bold.captures_iter(markdown)).map(|c| c[1].replace('`', "")).collect()
}

/// Every `README, "Section"`, `README, Section` (capitalised words) and
/// `docs/x.md, "Section"` in the repository's docs, values, templates, sources
/// and CI scripts, with the file it was found in.
fn section_references() -> Vec<(String, String, String)> {
    let quoted = Regex::new(r#"`?(README|docs/[\w/.-]+\.md)`?,\s+"([^"]+)""#).unwrap();
    let bare = Regex::new(r"\b(README), ([A-Z][a-z]+(?: [a-z]+)*)").unwrap();
    // Comment markers at a line's start, so a reference may wrap across comment lines.
    let wrap = Regex::new(r"\s*\n\s*(?:#|//[/!]?)?\s*").unwrap();
    let mut found = Vec::new();
    for dir in ["values", "templates", "docs", "src", ".ci"] {
        for (path, bytes) in read_tree(&root().join(dir)) {
            let text = wrap.replace_all(&String::from_utf8_lossy(&bytes), " ").into_owned();
            let file = format!("{dir}/{path}");
            for captures in quoted.captures_iter(&text).chain(bare.captures_iter(&text)) {
                found.push((file.clone(), captures[1].to_string(), captures[2].to_string()));
            }
        }
    }
    let text = wrap.replace_all(&readme(), " ").into_owned();
    for captures in quoted.captures_iter(&text) {
        found.push(("README.md".into(), captures[1].to_string(), captures[2].to_string()));
    }
    found
}

#[test]
fn every_reference_to_a_doc_section_resolves() {
    let references = section_references();
    // The references this test was written against, so a regex that stops matching fails it.
    for (doc, section) in [
        ("README", "Runbook: sealing a secret"),
        ("README", "Runbook: bootstrap"),
        ("README", "Secrets"),
        ("README", "Values reference"),
        ("README", "No-change renders are free"),
        ("docs/runbooks.md", "The sealing key"),
        ("docs/monitoring.md", "Sync order"),
    ] {
        assert!(
            references.iter().any(|(_, d, s)| d == doc && s == section),
            "no reference to {doc}, {section:?} found"
        );
    }
    let mut broken = Vec::new();
    for (file, doc, section) in &references {
        let target = if doc == "README" { "README.md" } else { doc.as_str() };
        let Ok(markdown) = std::fs::read_to_string(root().join(target)) else {
            broken.push(format!("{file}: {target} does not exist"));
            continue;
        };
        // A title may go on past the reference ("The cost of trusting the output (escaping, …)").
        let resolves = titles(&markdown).iter().any(|title| {
            title == section || title.strip_prefix(section.as_str()).is_some_and(|rest| rest.starts_with(" ("))
        });
        if !resolves {
            broken.push(format!("{file}: {doc}, {section:?} is no heading of {target}"));
        }
    }
    assert!(broken.is_empty(), "cross-references that do not resolve:\n{}", broken.join("\n"));
}

#[test]
fn every_doc_file_named_exists() {
    let named = Regex::new(r"(?:^|[^:/\w.-])(docs/[\w/.-]+\.md)\b").unwrap();
    let mut missing = Vec::new();
    let mut sources: Vec<(String, String)> = vec![("README.md".into(), readme())];
    for dir in ["values", "templates", "docs", "src", ".ci"] {
        for (path, bytes) in read_tree(&root().join(dir)) {
            sources.push((format!("{dir}/{path}"), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    // The vendored facts cite upstream repositories' docs/ (k3s-io/docs, argoproj/argo-cd…).
    for (file, text) in sources.iter().filter(|(file, _)| file != "docs/k3s-gpu-facts.md") {
        for captures in named.captures_iter(text) {
            if !root().join(&captures[1]).is_file() {
                missing.push(format!("{file}: {}", &captures[1]));
            }
        }
    }
    assert!(missing.is_empty(), "docs named but not in the repository:\n{}", missing.join("\n"));
}

#[test]
fn gaps_in_examples_match_only_what_they_leave_out() {
    let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
    let actual = ["a", "b", "c", "d"];
    assert!(matches_with_gaps(&lines("a\n...\nc\n..."), &actual));
    assert!(matches_with_gaps(&lines("a\nb\nc\nd"), &actual));
    assert!(matches_with_gaps(&lines("...\nd"), &actual));
    assert!(!matches_with_gaps(&lines("b\n..."), &actual), "without a leading `...` the example starts the output");
    assert!(!matches_with_gaps(&lines("a\n...\nc"), &actual), "without a trailing `...` it ends it");
    assert!(!matches_with_gaps(&lines("a\nc\n..."), &actual), "adjacent lines are adjacent");
    assert!(!matches_with_gaps(&lines("...\nc\n...\nb\n..."), &actual), "in order");
}
