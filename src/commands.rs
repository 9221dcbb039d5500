//! Executes one subcommand against validated [`Settings`] and maps the result
//! to the exit-code contract: 0 ok / in sync, 1 drift or check failed, 2 error.
//!
//! No-change renders are free: when `rendered/` verifies and its lock names
//! today's inputs and this kiln build (`verify::reusable`), `render` and
//! `render --diff` print from the lock what the full render would print (the
//! findings of `validate` and `plan`, the counts, "in sync") and write
//! nothing. `KILN_FAST_PATH=off` always renders in full; `KILN_FAST_PATH=trace`
//! says on stderr which path ran and why.

use std::io::Write as _;

use clap::{CommandFactory, Parser};

use crate::cli::{Arguments, Command, DiffFormat, Format};
use crate::finding::{self, Findings};
use crate::input::InputFiles;
use crate::output::verify::Reuse;
use crate::output::{bookkeeping, disk, drift, tree, verify, write};
use crate::settings::Settings;
use crate::{build, diff, explain, parallel, plan, validate, Error, Outcome, Result};

/// Parses arguments, runs the command and prints errors; returns the exit code.
pub fn main<I, T>(args: I) -> Outcome
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let arguments = match Arguments::try_parse_from(args) {
        Ok(arguments) => arguments,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { Outcome::Error } else { Outcome::Ok };
        }
    };
    let settings = Settings::from_arguments(&arguments);
    let color = settings.as_ref().is_ok_and(|settings| settings.color_stderr);
    match settings.and_then(|settings| execute(&arguments.command, &settings)) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("{}", error.to_text(color));
            Outcome::Error
        }
    }
}

fn execute(command: &Command, settings: &Settings) -> Result<Outcome> {
    match command {
        Command::Render { diff: false, .. } => render(settings),
        Command::Render { diff: true, stat, format } => render_diff(settings, *stat, *format),
        Command::Verify { format } => verify(settings, *format),
        Command::Validate { format } => validate(settings, *format),
        Command::Plan { format } => plan(settings, *format),
        Command::Sync { format } => sync(settings, *format),
        Command::Diff { base, head, merge_base, stat, format } => {
            if head.is_none() {
                print_warnings(&write::recover_for_reading(&settings.rendered)?);
            }
            let report = diff::diff(&settings.root, base, head.as_deref(), *merge_base, check_findings)?;
            Ok(print_diff(&report, *stat, *format, settings.color))
        }
        Command::Explain { scope, name } => {
            print(&explain::explain(&settings.root, scope, name.as_deref())?);
            Ok(Outcome::Ok)
        }
        Command::Seal(arguments) => crate::seal::command::run(settings, arguments),
        Command::Import(crate::cli::ImportCommand::Compose(arguments)) => {
            crate::import::compose::command::run(settings, arguments)
        }
        Command::Completions { shell } => {
            let mut command = Arguments::command();
            clap_complete::generate(*shell, &mut command, "kiln", &mut std::io::stdout());
            Ok(Outcome::Ok)
        }
    }
}

/// The process exits right after a command, so dropping a large build (every
/// object, value and file, millions of small allocations) only costs time.
fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}

fn render(settings: &Settings) -> Result<Outcome> {
    // The one writer from here to the end of the function (its lock drops
    // then): recovery and the lock come before the lock file is trusted.
    let writer = write::Writer::start(&settings.rendered)?;
    print_warnings(&writer.warnings);
    let inputs = InputFiles::from_dir(&settings.root)?;
    let hashes = inputs.hashes();
    if let Some((lock, files)) = answer_from_lock(settings, &hashes)? {
        if !report_findings(settings, &Findings::new(lock.findings), "nothing was written") {
            return Ok(Outcome::CheckFailed);
        }
        print(&rendered_summary(lock.objects, files, &write::Changes::default()));
        return Ok(Outcome::Ok);
    }
    let mut build = build::build_hashed(&inputs, &hashes)?;
    let findings = check_findings(&build);
    build.tree.record_findings(&findings.findings);
    if !report_findings(settings, &findings, "nothing was written") {
        return Ok(Outcome::CheckFailed);
    }
    let write::Written { changes, warnings } = write::write(&build.tree, &writer)?;
    print_warnings(&warnings);
    for path in &changes.foreign {
        eprintln!("note: kept rendered/{path}, which kiln does not own");
    }
    print(&rendered_summary(build.tree.objects(), build.tree.cluster_files(), &changes));
    exit_without_freeing(build);
    Ok(Outcome::Ok)
}

/// Counts the cluster's files, not SHA256SUMS and kiln.lock (`output::bookkeeping`).
fn rendered_summary(objects: usize, files: usize, changes: &write::Changes) -> String {
    let mut bookkeeping = Vec::new();
    let [added, changed, removed] = [&changes.added, &changes.changed, &changes.removed].map(|paths| {
        let mut paths = paths.clone();
        bookkeeping::split_off(&mut paths, &mut bookkeeping);
        paths.len()
    });
    // A special entry where kiln writes a file is both added and changed.
    bookkeeping.sort();
    bookkeeping.dedup();
    let mut line =
        format!("rendered {objects} objects into {files} files: {added} added, {changed} changed, {removed} removed");
    if let Some(only) = bookkeeping::only(&bookkeeping, added + changed + removed, bookkeeping::REWRITTEN) {
        line.push_str(&format!("; {only}"));
    }
    line
}

fn render_diff(settings: &Settings, stat: bool, format: Format) -> Result<Outcome> {
    print_warnings(&write::recover_for_reading(&settings.rendered)?);
    let inputs = InputFiles::from_dir(&settings.root)?;
    let hashes = inputs.hashes();
    if let Some((lock, _)) = answer_from_lock(settings, &hashes)? {
        if !report_findings(settings, &Findings::new(lock.findings), "no diff was computed") {
            return Ok(Outcome::CheckFailed);
        }
        print_drift(&drift::Drift::in_sync(), settings, stat, format);
        return Ok(Outcome::Ok);
    }
    let mut build = build::build_hashed(&inputs, &hashes)?;
    let findings = check_findings(&build);
    build.tree.record_findings(&findings.findings);
    if !report_findings(settings, &findings, "no diff was computed") {
        return Ok(Outcome::CheckFailed);
    }
    let on_disk = disk::read(&settings.rendered)?;
    let drift = drift::compare(&build.tree, &on_disk);
    print_drift(&drift, settings, stat, format);
    let outcome = if drift.in_sync { Outcome::Ok } else { Outcome::CheckFailed };
    exit_without_freeing((build, on_disk, drift));
    Ok(outcome)
}

fn print_drift(drift: &drift::Drift, settings: &Settings, stat: bool, format: Format) {
    match format {
        Format::Json => print(&drift.to_json()),
        Format::Text => {
            if !stat {
                print_raw(&drift.diffs(settings.color));
            }
            print(&drift.summary());
        }
    }
}

/// The lock to answer a render from (and the tree's file count), or `None`
/// when the full render must run; see the module docs.
fn answer_from_lock(
    settings: &Settings,
    hashes: &std::collections::BTreeMap<String, String>,
) -> Result<Option<(tree::Lock, usize)>> {
    let mode = fast_path_mode()?;
    if mode == FastPath::Off {
        return Ok(None);
    }
    let reuse = verify::reusable(&settings.rendered, hashes);
    if mode == FastPath::Trace {
        match &reuse {
            Reuse::Lock { .. } => eprintln!("kiln: answered from rendered/kiln.lock"),
            Reuse::Render(why) => eprintln!("kiln: full render: {why}"),
        }
    }
    Ok(match reuse {
        Reuse::Lock { lock, files } => Some((lock, files)),
        Reuse::Render(_) => None,
    })
}

/// `KILN_FAST_PATH`: unset or `on` (the default), `off`, or `trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FastPath {
    On,
    Off,
    Trace,
}

fn fast_path_mode() -> Result<FastPath> {
    match std::env::var("KILN_FAST_PATH") {
        Err(std::env::VarError::NotPresent) => Ok(FastPath::On),
        Ok(value) if value.is_empty() || value == "on" => Ok(FastPath::On),
        Ok(value) if value == "off" => Ok(FastPath::Off),
        Ok(value) if value == "trace" => Ok(FastPath::Trace),
        _ => Err(Error::Usage { message: "KILN_FAST_PATH must be `on`, `off` or `trace`".into() }),
    }
}

fn verify(settings: &Settings, format: Format) -> Result<Outcome> {
    print_warnings(&write::recover_for_reading(&settings.rendered)?);
    let on_disk = disk::read(&settings.rendered)?;
    let inputs = InputFiles::from_dir(&settings.root)?.hashes();
    let report = verify::verify(&settings.rendered, &on_disk, &inputs)?;
    match format {
        Format::Json => print(&serde_json::to_string_pretty(&report).unwrap_or_default()),
        Format::Text => print(&report.to_text()),
    }
    let outcome = if report.ok() { Outcome::Ok } else { Outcome::CheckFailed };
    exit_without_freeing(on_disk);
    Ok(outcome)
}

/// Validation and the plan, run as part of a render (and by `kiln diff` on
/// both sides, so that it fails where `kiln render` would refuse).
fn check_findings(build: &build::Build) -> Findings {
    // Independent read-only checks of the same build: run them side by side.
    let (plan, mut findings) = parallel::join(|| plan::findings(build), || validate::validate(build));
    findings.extend(plan);
    finding::acknowledge(&mut findings, &build.values, finding::Ran { validate: true, plan: true });
    findings
}

/// Prints a render's findings to stderr, from a fresh check or from the lock:
/// errors (schema, policy, a steady state that does not fit, a rollout that
/// can never complete) fail the render, warnings do not.
fn report_findings(settings: &Settings, findings: &Findings, consequence: &str) -> bool {
    // Acknowledged findings are not news: a render with nothing else prints nothing.
    if findings.shown().is_empty() {
        return true;
    }
    eprintln!("{}", findings.to_text(settings.color_stderr));
    if findings.has_errors() {
        eprintln!("error: validation or plan found errors; {consequence} (see `kiln validate` and `kiln plan`)");
        return false;
    }
    true
}

fn validate(settings: &Settings, format: Format) -> Result<Outcome> {
    let build = build::build(&InputFiles::from_dir(&settings.root)?)?;
    let mut findings = validate::validate(&build);
    finding::acknowledge(&mut findings, &build.values, finding::Ran { validate: true, plan: false });
    match format {
        Format::Json => print(&findings.to_json()),
        Format::Text => print(&findings.to_text(settings.color)),
    }
    Ok(if findings.has_errors() { Outcome::CheckFailed } else { Outcome::Ok })
}

fn plan(settings: &Settings, format: Format) -> Result<Outcome> {
    let build = build::build(&InputFiles::from_dir(&settings.root)?)?;
    let mut plan = plan::plan(&build);
    finding::acknowledge(&mut plan.findings, &build.values, finding::Ran { validate: false, plan: true });
    // Written as it is made: a large cluster's plan is far bigger than the plan itself.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match format {
        Format::Json => plan.write_json(&mut stdout),
        Format::Text => plan.write_text(&mut stdout, settings.color),
    };
    let _ = written.and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
    Ok(if plan.findings.has_errors() { Outcome::CheckFailed } else { Outcome::Ok })
}

fn sync(settings: &Settings, format: Format) -> Result<Outcome> {
    let build = build::build(&InputFiles::from_dir(&settings.root)?)?;
    let report = crate::sync::report::Report::new(&build);
    match format {
        Format::Json => print(&report.to_json()),
        Format::Text => print(&report.to_text()),
    }
    Ok(if report.completes() { Outcome::Ok } else { Outcome::CheckFailed })
}

fn print_diff(report: &diff::Report, stat: bool, format: DiffFormat, color: bool) -> Outcome {
    match format {
        DiffFormat::Text => print(&diff::text::text(report, stat, color)),
        DiffFormat::Json => print(&report.to_json()),
        // Already ends with a newline; the comment's size is counted with it.
        DiffFormat::Markdown => print_raw(&diff::markdown::markdown(report)),
    }
    if report.has_changes() {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    }
}

fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("{warning}");
    }
}

/// Prints a line to stdout; a closed pipe (`kiln ... | head`) is not an error.
fn print(text: &str) {
    print_raw(&format!("{text}\n"));
}

fn print_raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
