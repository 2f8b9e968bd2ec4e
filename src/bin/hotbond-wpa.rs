//! `hotbond-wpa IFNAME EVENT`: the wpa_cli action script (`wpa_cli -a hotbond-wpa`).
fn main() -> std::process::ExitCode {
    hotbond::run_main(|| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.as_slice() {
            [iface, event, ..] => hotbond::hooks::wpa(iface, event),
            _ => anyhow::bail!("usage: hotbond-wpa IFNAME CONNECTED|DISCONNECTED"),
        }
    })
}
