//! `hotbond-udev`: udev `RUN+=` program for net add/remove. Reads ACTION and INTERFACE from
//! udev's environment, or takes `add|remove IFACE` for manual use.
use anyhow::Context;
use hotbond::args::env_var;

fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        let (action, iface) = match args.as_slice() {
            [a, i] => (a.clone(), i.clone()),
            [] => (
                env_var("ACTION")?
                    .context("ACTION is not set (run by udev, or give: add|remove IFACE)")?,
                env_var("INTERFACE")?
                    .context("INTERFACE is not set (run by udev, or give: add|remove IFACE)")?,
            ),
            _ => anyhow::bail!("usage: hotbond-udev [add|remove IFACE]"),
        };
        hotbond::hooks::udev(&action, &iface)
    })
}
