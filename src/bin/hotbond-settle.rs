//! `hotbond-settle BOND`: waits for the bond's active slave and MAC to settle, then makes
//! sure one DHCP client runs with that MAC.
fn main() -> std::process::ExitCode {
    hotbond::run_main(|| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.as_slice() {
            [bond] => {
                hotbond::service::write_own_pid_file()?;
                hotbond::settle::run(bond)
            }
            _ => anyhow::bail!("usage: hotbond-settle BOND"),
        }
    })
}
