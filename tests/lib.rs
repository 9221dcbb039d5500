//! One integration binary: every test runs the real `kiln` binary over a
//! fixture repository in a temporary directory.

mod harness;

mod bad_input;
mod cli;
mod render_diff;
mod render;
mod snapshot;
mod verify;
