//! Any string in any string-typed key of this repository's values, rendered
//! through its templates (the monitoring rules and dashboards, which take
//! values only as names, are left out to keep executions fast): either kiln refuses the
//! value with an error, or the output has the same shape as with the
//! committed values — the same objects and kinds, keys, list lengths and
//! scalar types. It never panics, aborts or hangs.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kiln_fuzz::Base;
use libfuzzer_sys::fuzz_target;

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        Base::new(&root, |template| !template.starts_with("cluster/monitoring/"))
    })
}

fuzz_target!(|data: &[u8]| {
    let base = base();
    let Some((leaf, text)) = base.case(data) else { return };
    if let Some(change) = base.shape_change(leaf, &text) {
        panic!("{change}");
    }
});
