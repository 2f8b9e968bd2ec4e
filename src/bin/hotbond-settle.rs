//! `hotbond-settle BOND`: the bond's job. Waits for the bond's active slave and MAC to
//! settle, runs one DHCP client with that MAC, and restarts it when failover changes the MAC.
const HELP: &str = "usage: hotbond-settle BOND
The job of bond BOND, started by the hooks (hotbond-settle@BOND.service under systemd):
waits until the active slave and the bond's MAC have settled, then runs the DHCP client.
See hotbond(8).";

fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| {
        if hotbond::args::help_requested(&args, HELP) {
            return Ok(());
        }
        match args.as_slice() {
            [bond] => hotbond::settle::run(bond),
            _ => Err(hotbond::args::usage("usage: hotbond-settle BOND")),
        }
    })
}
