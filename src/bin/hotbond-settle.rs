//! `hotbond-settle BOND`: the bond's job. Waits for the bond's active slave and MAC to
//! settle, runs one DHCP client with that MAC, and restarts it when failover changes the MAC.
fn main() -> std::process::ExitCode {
    hotbond::run_main_args(|args| match args.as_slice() {
        [bond] => hotbond::settle::run(bond),
        _ => anyhow::bail!("usage: hotbond-settle BOND"),
    })
}
