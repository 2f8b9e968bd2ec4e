//! `hotbond`: the command for people (see `hotbond --help`).
fn main() -> std::process::ExitCode {
    hotbond::run_main(|| hotbond::cli::main(std::env::args().skip(1).collect()))
}
