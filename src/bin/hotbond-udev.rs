//! `hotbond-udev`: udev `RUN+=` program for net add/remove. Reads ACTION and INTERFACE from
//! udev's environment, or takes `add|remove IFACE` for manual use.
use anyhow::Context;

fn main() -> std::process::ExitCode {
    hotbond::run_main(|| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let (action, iface) = match args.as_slice() {
            [a, i] => (a.clone(), i.clone()),
            [] => (
                std::env::var("ACTION")
                    .context("ACTION is not set (run by udev, or give: add|remove IFACE)")?,
                std::env::var("INTERFACE")
                    .context("INTERFACE is not set (run by udev, or give: add|remove IFACE)")?,
            ),
            _ => anyhow::bail!("usage: hotbond-udev [add|remove IFACE]"),
        };
        hotbond::hooks::udev(&action, &iface)
    })
}
