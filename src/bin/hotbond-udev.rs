//! `hotbond-udev`: udev `RUN+=` program for net add/remove and rfkill change. Reads ACTION
//! and INTERFACE (for an rfkill switch: SUBSYSTEM and DEVPATH) from udev's environment, or
//! takes `add|remove IFACE` for manual use.
use anyhow::Context;
use hotbond::args::{env_var, help_requested, usage};

const HELP: &str = "usage: hotbond-udev [add|remove IFACE]
The udev RUN+= program of 90-hotbond.rules: without arguments it reads ACTION and
INTERFACE (for an rfkill switch: SUBSYSTEM and DEVPATH) from udev's environment.
See hotbond(8).";

fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        if help_requested(&args, HELP) {
            return Ok(());
        }
        let (action, iface) = match args.as_slice() {
            [a, i] => (a.clone(), i.clone()),
            [] => {
                let action = env_var("ACTION")?
                    .context("ACTION is not set (run by udev, or give: add|remove IFACE)")?;
                if env_var("SUBSYSTEM")?.as_deref() == Some("rfkill") {
                    let dev = env_var("DEVPATH")?.context("DEVPATH is not set")?;
                    return hotbond::hooks::udev_rfkill(&action, &dev);
                }
                let iface = env_var("INTERFACE")?
                    .context("INTERFACE is not set (run by udev, or give: add|remove IFACE)")?;
                (action, iface)
            }
            _ => return Err(usage("usage: hotbond-udev [add|remove IFACE]")),
        };
        hotbond::hooks::udev(&action, &iface)
    })
}
