//! `hotbond-udhcpc-script EVENT`: the script hotbond gives udhcpc (`-s`).
const HELP: &str = "usage: hotbond-udhcpc-script EVENT
The script hotbond gives busybox udhcpc (-s) and ISC dhclient (-sf, no EVENT: dhclient's
$reason): applies the lease in the client's environment to the bond without flushing its
static addresses. See hotbond(8).";

fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        if hotbond::args::help_requested(&args, HELP) {
            return Ok(());
        }
        // dhclient runs its script with no argument, the event in $reason.
        if args.is_empty() {
            if let Some(reason) = std::env::var_os("reason") {
                let reason = reason.to_string_lossy().into_owned();
                return hotbond::dhcp::dhclient_script::handle(&reason, std::env::vars_os());
            }
        }
        // udhcpc runs its script with exactly one argument: the event.
        let [event] = args.as_slice() else {
            return Err(hotbond::args::usage("usage: hotbond-udhcpc-script EVENT"));
        };
        let env = hotbond::dhcp::udhcpc_script::env(std::env::vars_os());
        hotbond::dhcp::udhcpc_script::handle(event, &env)
    })
}
