//! `hotbond-wpa IFNAME EVENT`: the wpa_cli action script (`wpa_cli -a hotbond-wpa`).
const HELP: &str = "usage: hotbond-wpa IFNAME EVENT [PARAMETER...]
The wpa_cli action script (wpa_cli -a): CONNECTED and DISCONNECTED reach hotbond; other
events are ignored. See hotbond(8).";

fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        if hotbond::args::help_requested(&args, HELP) {
            return Ok(());
        }
        // wpa_cli splits an event's text on spaces, so events with parameters arrive as more
        // arguments: those are allowed, and ignored.
        match args.as_slice() {
            [iface, event, ..] => hotbond::hooks::wpa(iface, event),
            _ => Err(hotbond::args::usage(
                "usage: hotbond-wpa IFNAME CONNECTED|DISCONNECTED",
            )),
        }
    })
}
