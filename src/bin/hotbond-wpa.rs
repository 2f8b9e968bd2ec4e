//! `hotbond-wpa IFNAME EVENT`: the wpa_cli action script (`wpa_cli -a hotbond-wpa`).
fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| match args.as_slice() {
        [iface, event, ..] => hotbond::hooks::wpa(iface, event),
        _ => anyhow::bail!("usage: hotbond-wpa IFNAME CONNECTED|DISCONNECTED"),
    })
}
