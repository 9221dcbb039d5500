//! `kiln import compose`: Docker Compose files into namespace values.
//!
//! ```text
//! load (files, include, extends, merge, interpolation, profiles, schema)
//!   ─▶ project::Project ─▶ map (services → workloads, with a loss report)
//!   ─▶ write (surgical edits of values/namespaces/<ns>.yaml)
//! ```

pub mod command;
pub mod load;
pub mod map;
pub mod project;
pub mod write;
