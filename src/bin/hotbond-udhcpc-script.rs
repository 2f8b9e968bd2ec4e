//! `hotbond-udhcpc-script EVENT`: the script hotbond gives udhcpc (`-s`).
const HELP: &str = "usage: hotbond-udhcpc-script EVENT
The script hotbond gives busybox udhcpc (-s): applies the lease in udhcpc's environment to
the bond without flushing its static addresses. See hotbond(8).";

fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        if hotbond::args::help_requested(&args, HELP) {
            return Ok(());
        }
        // udhcpc runs its script with exactly one argument: the event.
        let [event] = args.as_slice() else {
            return Err(hotbond::args::usage("usage: hotbond-udhcpc-script EVENT"));
        };
        let env = hotbond::dhcp::udhcpc_script::env(std::env::vars_os());
        hotbond::dhcp::udhcpc_script::handle(event, &env)
    })
}
