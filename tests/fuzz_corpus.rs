//! Replays the committed fuzz corpora (`tests/fuzz/corpus/<target>/` and any
//! crash reproducers in `tests/fuzz/crashes/<target>/`) through the same
//! checks as the fuzz targets, so every input a fuzzer once found interesting
//! stays covered by `cargo test` without a fuzzing toolchain.

use std::path::{Path, PathBuf};

use kiln::values::{self, Keep};

fn inputs_of(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    // The render corpus is not committed (each replay is a whole build);
    // its crash reproducers are.
    let dirs: &[&str] = if target == "render_values" { &["crashes"] } else { &["crashes", "corpus"] };
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(root.join(dir).join(target)).ok())
        .flat_map(|entries| entries.flatten().map(|entry| entry.path()))
        .filter(|path| path.is_file() && !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

#[test]
fn values_loader_corpus_never_panics_and_errors_name_a_values_file() {
    const FILES: [&str; 3] = ["values/cluster.yaml", "values/nodes/n1.yaml", "values/namespaces/apps.yaml"];
    let base = crate::fuzz_support::repo_inputs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/base"));
    let corpus = inputs_of("values_loader");
    assert!(corpus.len() >= 11, "the seed corpus is missing: {corpus:?}");
    for path in corpus {
        let data = std::fs::read(&path).unwrap();
        let Some((&selector, bytes)) = data.split_first() else { continue };
        let mut inputs = base.clone();
        inputs.files.insert(PathBuf::from(FILES[usize::from(selector) % FILES.len()]), bytes.to_vec());
        if let Err(error) = values::load(&inputs, Keep::Effective) {
            let text = error.to_string();
            assert!(text.contains("values/"), "{}: an error that names no values file: {text}", path.display());
        }
    }
}

fn render_base() -> crate::fuzz_support::Base {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    crate::fuzz_support::Base::new(crate::fuzz_support::render_fixture(&fuzz_dir))
}

#[test]
fn render_values_crashes_are_errors_or_keep_the_shape() {
    let base = render_base();
    let crashes = inputs_of("render_values");
    assert!(!crashes.is_empty(), "the crash reproducers are missing");
    for path in crashes {
        let data = std::fs::read(&path).unwrap();
        let Some((leaf, text)) = base.case(&data) else { continue };
        assert_eq!(base.shape_change(leaf, &text), None, "{}", path.display());
    }
}

/// The reproducer must still reach the panic it was found by (a subscript
/// key with a multi-byte character inside Tera), or replaying it proves
/// nothing: a change to the fixture that moved its leaf would go unnoticed.
#[test]
fn tera_subscript_reproducer_still_reaches_the_panic_guard() {
    let base = render_base();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/crashes/render_values/tera-subscript-with-non-ascii-key");
    let (leaf, text) = base.case(&std::fs::read(path).unwrap()).unwrap();
    let error = match kiln::build::build_with(&base.templates, &base.with_string(leaf, &text)) {
        Ok(_) => panic!("{text:?} at {leaf:?} built"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("the Tera template engine panicked (end byte index 19 is not a char boundary"), "{error}");
}

#[test]
fn compose_loader_corpus_never_panics_and_errors_name_a_file() {
    let corpus = inputs_of("compose_loader");
    assert!(corpus.len() >= 8, "the seed corpus is missing: {corpus:?}");
    for path in corpus {
        crate::fuzz_support::compose_case(&std::fs::read(&path).unwrap());
    }
}
