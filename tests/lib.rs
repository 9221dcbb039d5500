//! One integration binary: every test runs the real `kiln` binary over a
//! fixture repository in a temporary directory.

mod harness;

#[path = "fuzz/src/lib.rs"]
mod fuzz_support;

mod argocd_owners;
mod backups;
mod bad_input;
mod bench;
mod chart_values;
mod cli;
mod cluster;
mod compose_load;
mod connectivity;
mod cross_checks;
mod diff;
mod docs;
mod escaping;
mod fuzz_corpus;
mod gpu_memory;
mod import_compose;
mod monitoring;
mod plan;
mod quiet_diffs;
mod render;
mod render_diff;
mod renovate;
mod seal;
mod shape;
mod snapshot;
mod sync;
mod template_advice;
mod trust;
mod validate;
mod values_trust;
mod verify;
mod writer;
