fn main() {
    std::process::exit(kiln::run(std::env::args_os()));
}
