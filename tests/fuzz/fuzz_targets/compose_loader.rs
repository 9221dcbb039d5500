//! Any bytes as the one Compose file of a project (`compose.yaml`, with an
//! `.env` beside it): the loader answers with a project or with an error
//! that names a file; it never panics, aborts or hangs. Files the input
//! includes or extends are absent, so those paths end in a read error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kiln_fuzz::compose_case(data);
});
