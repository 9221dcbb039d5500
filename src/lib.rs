//! kiln renders layered YAML values through Tera templates into a committed,
//! content-hashed tree of Kubernetes manifests and host files.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! input ─▶ values::load ─▶ render::templates::load ─▶ render ─▶ output::assemble
//!   ─▶ { validate ‖ plan } ─▶ finding::acknowledge
//!   ─▶ { output::write | output::drift | output::verify }
//!
//! validate ──┬──▶ kube (pod templates, selectors, resources, nodes, workloads, placement)
//!            ├──▶ sync (the Argo CD model: who manages what, waves, hooks, health)
//!            └──▶ seal::check (secrets sealed for the declared certificate)
//! plan ──────┬──▶ kube
//!            └──▶ network (NetworkPolicies; declared flows through them, paths no flow needs)
//!
//! kiln sync ─▶ sync::run     kiln seal ─▶ seal (the Sealed Secrets format; values edits)
//! ```
//!
//! `values::load` bounds size and nesting, refuses YAML tags, checks the
//! schema, layers the files (`values::merge`) and checks syntax, secrets and
//! pod-count bounds. `render::templates::load` parses every template, refuses
//! recursion and misplaced interpolations, and appends the escape filter of
//! each template's output kind to every interpolation (`render::escape`).
//! `output::assemble` parses objects, adds checksum annotations, orders keys
//! canonically and builds the in-memory tree with its hashes and lock.
//! `output::write` swaps the tree in under one writer's lock
//! (`output::lock`, `output::swap`).
//! `render::context` gives each scope its data, a workload the clients that
//! declare flows to it (`render::clients`) and the Services it waits for
//! before it starts (`render::waits`).
//! `validate` (schemas, policies, chart values against the pinned charts'
//! defaults, HPA metrics against prometheus-adapter rules, the Argo CD sync
//! model's checks, sealing) and `plan` (the scheduler simulation, and the
//! declared flows through the NetworkPolicies) check the
//! assembled tree side by side, both reading it through the one Kubernetes
//! model in `kube` and neither through the other; their findings are `diagnostic::Diagnostic`s
//! that point at the values line of the scope (`scope::ScopeRef`) that
//! produced each object, and `finding::acknowledge` marks the ones values
//! accept. Errors print through the same diagnostic printer.
//! `diff` compares two git revisions object by object (`kiln diff`), reading
//! them through `git`, the only module that touches git2, and checks both as
//! `render` does.
//!
//! `cli` parses raw arguments, `settings` turns them into a validated run
//! configuration (with the repository root that `root` finds), and
//! `commands` executes one subcommand against it. Every
//! failure is an [`Error`] that names the file, position and key path involved.

// No input can make kiln panic: no unchecked indexing or slicing, no
// unwrap/expect, no panic!/unreachable! in the library (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::unreachable)
)]

pub mod build;
pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod diff;
pub mod error;
pub mod explain;
pub mod finding;
pub mod fsutil;
pub mod git;
pub mod hash;
pub mod import;
pub mod input;
pub(crate) mod kube;
pub mod network;
pub mod output;
pub mod parallel;
pub mod plan;
pub mod render;
pub mod root;
pub mod scope;
pub mod seal;
pub mod settings;
pub mod sync;
pub mod validate;
pub mod values;

pub use error::{Error, Result};

/// The process exit codes, a documented contract: 0 ok or in sync, 1 drift or
/// a failed check, 2 an error that stopped kiln from answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok = 0,
    CheckFailed = 1,
    Error = 2,
}

/// Runs kiln with the given arguments (including `argv[0]`) and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    commands::main(args) as i32
}
