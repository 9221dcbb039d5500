//! No string value can change the shape of the output: random strings, rich
//! in what YAML, a shell or Tera treat specially, put into this repository's
//! string-typed values keys either are refused or render the same objects
//! with the same keys, list lengths and scalar types (issue "Trust the
//! output", item 10). The fuzz target `render_values` checks the same
//! property over many more executions.

use std::path::Path;
use std::sync::OnceLock;

use kiln::input::InputFiles;
use kiln::render::templates::{self, Templates};
use proptest::prelude::*;

use crate::fuzz_support::{nasty_string, shape, string_leaves, with_string, Leaf, Shape};

struct Base {
    inputs: InputFiles,
    templates: Templates,
    leaves: Vec<Leaf>,
    shape: Shape,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let inputs = crate::fuzz_support::repo_inputs(Path::new(env!("CARGO_MANIFEST_DIR")), |_| true);
        let templates = templates::load(&inputs).expect("templates load");
        let build = kiln::build::build_with(&templates, &inputs).expect("this repository builds");
        let shape = shape(&build);
        let leaves = string_leaves(&inputs);
        Base { inputs, templates, leaves, shape }
    })
}

fn assert_same_shape(leaf: &Leaf, text: &str) -> Result<(), TestCaseError> {
    let base = base();
    let inputs = with_string(&base.inputs, leaf, text);
    if let Ok(build) = kiln::build::build_with(&base.templates, &inputs) {
        if let Some(difference) = shape(&build).first_difference(&base.shape) {
            return Err(TestCaseError::fail(format!("{text:?} at {leaf:?} changed the shape: {difference}")));
        }
    }
    Ok(())
}

#[test]
fn every_string_key_takes_every_nasty_fragment_without_changing_shape() {
    let base = base();
    assert!(base.leaves.len() > 100, "only {} string leaves found", base.leaves.len());
    let all: String = crate::fuzz_support::NASTY.concat();
    for leaf in &base.leaves {
        assert_same_shape(leaf, &format!("v{all}")).unwrap_or_else(|error| panic!("{error}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_in_string_keys_never_change_the_shape(index in any::<usize>(), bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
        let base = base();
        let leaf = &base.leaves[index % base.leaves.len()];
        assert_same_shape(leaf, &nasty_string(&bytes))?;
    }
}
