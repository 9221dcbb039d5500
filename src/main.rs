// glibc's allocator spent a fifth of a render's instructions; mimalloc halves that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(kiln::run(std::env::args_os()));
}
