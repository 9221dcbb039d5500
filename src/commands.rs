//! Executes one subcommand against validated [`Settings`] and maps the result
//! to the exit-code contract: 0 ok / in sync, 1 drift or check failed, 2 error.

use std::io::Write as _;

use clap::{CommandFactory, Parser};

use crate::cli::{Arguments, Command, DiffFormat, Format};
use crate::input::InputFiles;
use crate::output::{disk, drift, verify, write};
use crate::settings::Settings;
use crate::{build, diff, explain, parallel, plan, validate, Outcome, Result};

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
    let result = Settings::from_arguments(&arguments).and_then(|settings| execute(&arguments.command, &settings));
    match result {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("{error}");
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
        Command::Diff { base, head, merge_base, stat, format } => {
            if head.is_none() {
                print_warnings(&write::recover_for_reading(&settings.rendered)?);
            }
            let report = diff::diff(&settings.root, base, head.as_deref(), *merge_base)?;
            Ok(print_diff(&report, *stat, *format, settings.color))
        }
        Command::Explain { scope, name } => {
            print(&explain::explain(&settings.root, scope, name.as_deref())?);
            Ok(Outcome::Ok)
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
    // The one writer from here to the end of the function (its lock drops then).
    let writer = write::Writer::start(&settings.rendered)?;
    print_warnings(&writer.warnings);
    let build = build::build(&InputFiles::from_dir(&settings.root)?)?;
    if !checks_pass(&build, "nothing was written") {
        return Ok(Outcome::CheckFailed);
    }
    let write::Written { changes, warnings } = write::write(&build.tree, &writer)?;
    print_warnings(&warnings);
    for path in &changes.foreign {
        eprintln!("note: kept rendered/{path}, which kiln does not own");
    }
    print(&format!(
        "rendered {} objects into {} files: {} added, {} changed, {} removed",
        build.tree.objects(),
        build.tree.files.len(),
        changes.added.len(),
        changes.changed.len(),
        changes.removed.len()
    ));
    exit_without_freeing(build);
    Ok(Outcome::Ok)
}

fn render_diff(settings: &Settings, stat: bool, format: Format) -> Result<Outcome> {
    print_warnings(&write::recover_for_reading(&settings.rendered)?);
    let build = build::build(&InputFiles::from_dir(&settings.root)?)?;
    if !checks_pass(&build, "no diff was computed") {
        return Ok(Outcome::CheckFailed);
    }
    let on_disk = disk::read(&settings.rendered)?;
    let drift = drift::compare(&build.tree, &on_disk);
    match format {
        Format::Json => print(&drift.to_json()),
        Format::Text => {
            if !stat {
                print_raw(&drift.diffs(settings.color));
            }
            print(&drift.summary());
        }
    }
    let outcome = if drift.in_sync { Outcome::Ok } else { Outcome::CheckFailed };
    exit_without_freeing((build, on_disk, drift));
    Ok(outcome)
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

/// Runs validation and the plan as part of a render: findings go to stderr;
/// errors (schema, policy, a steady state that does not fit, a rollout that
/// can never complete) fail the render, warnings do not.
fn checks_pass(build: &build::Build, consequence: &str) -> bool {
    // Independent read-only checks of the same build: run them side by side.
    let (plan, mut findings) = parallel::join(|| plan::findings(build), || validate::validate(build));
    findings.extend(plan);
    if findings.findings.is_empty() {
        return true;
    }
    eprintln!("{}", findings.to_text());
    if findings.has_errors() {
        eprintln!("error: validation or plan found errors; {consequence} (see `kiln validate` and `kiln plan`)");
        return false;
    }
    true
}

fn validate(settings: &Settings, format: Format) -> Result<Outcome> {
    let build = build::build(&InputFiles::from_dir(&settings.root)?)?;
    let findings = validate::validate(&build);
    match format {
        Format::Json => print(&findings.to_json()),
        Format::Text => print(&findings.to_text()),
    }
    Ok(if findings.has_errors() { Outcome::CheckFailed } else { Outcome::Ok })
}

fn plan(settings: &Settings, format: Format) -> Result<Outcome> {
    let build = build::build(&InputFiles::from_dir(&settings.root)?)?;
    let plan = plan::plan(&build);
    match format {
        Format::Json => print(&plan.to_json()),
        Format::Text => print(&plan.to_text()),
    }
    Ok(if plan.findings.has_errors() { Outcome::CheckFailed } else { Outcome::Ok })
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
