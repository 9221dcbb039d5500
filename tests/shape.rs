//! No string value can change the shape of the output: random strings, rich
//! in what YAML, a shell or Tera treat specially, put into this repository's
//! string-typed values keys either are refused or render the same objects
//! with the same keys, list lengths and scalar types (issue "Trust the
//! output", item 10). The fuzz target `render_values` checks the same
//! property over many more executions.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;

use crate::fuzz_support::{nasty_string, repo_inputs, Base, Leaf};

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| Base::new(repo_inputs(Path::new(env!("CARGO_MANIFEST_DIR")))))
}

fn assert_same_shape(leaf: &Leaf, text: &str) -> Result<(), TestCaseError> {
    match base().shape_change(leaf, text) {
        Some(change) => Err(TestCaseError::fail(change)),
        None => Ok(()),
    }
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
