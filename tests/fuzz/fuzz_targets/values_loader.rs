//! Any bytes as the cluster, node or namespace file of a small repository
//! (`tests/fuzz/base`, the integration tests' minimal one): the loader
//! answers with values or with an error that names a values file; it never
//! panics, aborts or hangs. The corpus starts from this repository's own
//! values files, so the fuzzer begins with real-world shapes.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kiln::input::InputFiles;
use kiln::values::{self, Keep};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 3] = ["values/cluster.yaml", "values/nodes/n1.yaml", "values/namespaces/apps.yaml"];

fn base() -> &'static InputFiles {
    static BASE: OnceLock<InputFiles> = OnceLock::new();
    BASE.get_or_init(|| kiln_fuzz::repo_inputs(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("base")))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let mut inputs = base().clone();
    let Some(target) = FILES.get(usize::from(selector) % FILES.len()) else { return };
    inputs.files.insert(PathBuf::from(target), bytes.to_vec());
    if let Err(error) = values::load(&inputs, Keep::Effective) {
        let text = error.to_string();
        assert!(text.contains("values/"), "an error that names no values file: {text}");
    }
});
