//! `hotbond-udhcpc-script EVENT`: the script hotbond gives udhcpc (`-s`).
fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        let event = args.first().cloned().unwrap_or_default();
        let env = std::env::vars().collect();
        hotbond::dhcp::udhcpc_script::handle(&event, &env)
    })
}
