//! Any string in any string-typed key of this repository's values, rendered
//! through its templates (the monitoring rules and dashboards, which take
//! values only as names, are left out to keep executions fast): either kiln refuses the
//! value with an error, or the output has the same shape as with the
//! committed values — the same objects and kinds, keys, list lengths and
//! scalar types. It never panics, aborts or hangs.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kiln::input::InputFiles;
use kiln::render::templates::{self, Templates};
use kiln_fuzz::{nasty_string, shape, string_leaves, with_string, Leaf, Shape};
use libfuzzer_sys::fuzz_target;

struct Base {
    inputs: InputFiles,
    templates: Templates,
    leaves: Vec<Leaf>,
    shape: Shape,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let inputs = kiln_fuzz::repo_inputs(&root, |template| !template.starts_with("cluster/monitoring/"));
        let templates = templates::load(&inputs).unwrap_or_else(|error| panic!("templates: {error}"));
        let build = kiln::build::build_with(&templates, &inputs).unwrap_or_else(|error| panic!("build: {error}"));
        let shape = shape(&build);
        let leaves = string_leaves(&inputs);
        Base { inputs, templates, leaves, shape }
    })
}

fuzz_target!(|data: &[u8]| {
    let base = base();
    let Some((index, rest)) = data.split_first_chunk::<2>() else { return };
    let Some(leaf) = base.leaves.get(usize::from(u16::from_le_bytes(*index)) % base.leaves.len().max(1)) else {
        return;
    };
    let text = nasty_string(rest);
    let inputs = with_string(&base.inputs, leaf, &text);
    if let Ok(build) = kiln::build::build_with(&base.templates, &inputs) {
        if let Some(difference) = shape(&build).first_difference(&base.shape) {
            panic!("{text:?} at {leaf:?} changed the shape of the output: {difference}");
        }
    }
});
