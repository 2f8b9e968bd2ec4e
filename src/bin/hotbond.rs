//! `hotbond`: the command for people (see `hotbond --help`).
fn main() -> std::process::ExitCode {
    hotbond::run_main_args(hotbond::cli::main)
}
