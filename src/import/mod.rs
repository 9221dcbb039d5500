//! `kiln import`: bring an existing deployment's description into kiln's
//! values. Today one source, Docker Compose (`compose`).

pub mod compose;
