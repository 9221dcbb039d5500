//! One integration binary: every test runs the real `kiln` binary over a
//! fixture repository in a temporary directory.

mod harness;

mod bad_input;
mod bench;
mod cli;
mod cluster;
mod diff;
mod monitoring;
mod plan;
mod render;
mod render_diff;
mod snapshot;
mod validate;
mod verify;
mod writer;
