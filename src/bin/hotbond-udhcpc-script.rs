//! `hotbond-udhcpc-script EVENT`: the script hotbond gives udhcpc (`-s`).
fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        let event = args.first().cloned().unwrap_or_default();
        let env = hotbond::dhcp::udhcpc_script::env(std::env::vars_os());
        hotbond::dhcp::udhcpc_script::handle(&event, &env)
    })
}
