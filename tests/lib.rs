//! One integration binary: every test runs the real `kiln` binary over a
//! fixture repository in a temporary directory.

mod harness;

mod cluster;
mod diff;
mod monitoring;
mod render;
