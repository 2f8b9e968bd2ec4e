//! hotbond: keep one network identity across a wired and a wireless NIC that come and go.
//!
//! The binaries in `src/bin/` parse their invocation and call into these modules:
//! [`hooks`] (udev and wpa_cli entry points), [`settle`] (the job that replaces `sleep 8`),
//! [`cli`] (the `hotbond` command for people); the bond's job tells the administrator's event
//! hooks what happened through [`dispatch`]. Decisions live in [`plan`] (pure), effects in
//! [`apply`]; [`kernel`] is the only module that talks to the kernel.

pub mod apply;
pub mod args;
pub mod cli;
pub mod config;
pub mod dhcp;
pub mod dispatch;
pub mod dns;
pub mod ending;
pub mod hooks;
pub mod kernel;
pub mod lock;
pub mod log;
pub mod managers;
pub mod net;
pub mod paths;
pub mod plan;
pub mod process;
pub mod service;
pub mod settle;
pub mod state;
pub mod statefs;
pub mod status;
pub mod supplicant;

/// Runs a binary's main body with its arguments (program name left out) as UTF-8: one that
/// is not is refused with one line and exit status 2, as a bad invocation.
pub fn run_main_args(f: impl FnOnce(Vec<String>) -> anyhow::Result<()>) -> std::process::ExitCode {
    match args::utf8(std::env::args_os().skip(1)) {
        Ok(a) => run_main(|| f(a)),
        Err(e) => {
            log::error(&format!("{e:#}"));
            std::process::ExitCode::from(args::BAD_INVOCATION)
        }
    }
}

/// Runs a binary's main body: logs the one-line reason on failure and exits non-zero (2 for
/// a bad invocation, [`args::Usage`], 1 for anything else).
pub fn run_main(f: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    // udev runs RUN+= programs with the device's properties as their whole environment: no
    // PATH. Give the programs hotbond runs (systemctl, modprobe, DHCP clients) the usual one.
    if std::env::var_os("PATH").is_none_or(|p| p.is_empty()) {
        std::env::set_var(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        );
    }
    match f() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<args::Usage>().is_some() => {
            if let Some(u) = e.downcast_ref::<args::Usage>().filter(|u| !u.shown) {
                log::error(&u.message);
            }
            std::process::ExitCode::from(args::BAD_INVOCATION)
        }
        Err(e) => {
            // One line: the chain of contexts, outermost first.
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            log::error(&msg);
            std::process::ExitCode::FAILURE
        }
    }
}
