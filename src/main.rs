// kiln makes millions of small allocations from several threads (parsed YAML,
// Tera values, provenance); mimalloc runs a 10,000-object render about a
// quarter faster than the system allocator (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(kiln::run(std::env::args_os()));
}
