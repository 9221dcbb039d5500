//! Any string in any string-typed key of a small cluster's values
//! (`tests/fuzz/base-render`), rendered through every template of this
//! repository: either kiln refuses the value with an error, or the output has
//! the same shape as with the fixture's values — the same objects and kinds,
//! keys, list lengths and scalar types. It never panics, aborts or hangs.
//! Templates are loaded and the fixture's shape computed once per process.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kiln_fuzz::Base;
use libfuzzer_sys::fuzz_target;

// One build of the fixture allocates tens of thousands of small values;
// glibc malloc was a fifth of each execution (perf, 2026-12-01).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| Base::new(kiln_fuzz::render_fixture(&PathBuf::from(env!("CARGO_MANIFEST_DIR")))))
}

fuzz_target!(|data: &[u8]| {
    let base = base();
    let Some((leaf, text)) = base.case(data) else { return };
    if let Some(change) = base.shape_change(leaf, &text) {
        panic!("{change}");
    }
});
