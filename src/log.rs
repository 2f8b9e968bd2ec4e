//! One line per decision and per action, to syslog (tag `hotbond`) and, when a person is
//! watching (stderr is a terminal, or `HOTBOND_LOG_STDERR=1`), to stderr too. Under udev
//! stdout/stderr go nowhere, so syslog is the record.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::OnceLock;

use syslog::{Facility, Formatter3164, Logger, LoggerBackend};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

struct Sink {
    syslog: Option<Logger<LoggerBackend, Formatter3164>>,
    stderr: bool,
    min_stderr: Level,
}

static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();

fn sink() -> &'static Mutex<Sink> {
    SINK.get_or_init(|| {
        let formatter = Formatter3164 {
            facility: Facility::LOG_DAEMON,
            hostname: None,
            process: "hotbond".into(),
            pid: std::process::id(),
        };
        let stderr = std::io::stderr().is_terminal()
            || std::env::var_os("HOTBOND_LOG_STDERR").is_some_and(|v| v == "1");
        let min_stderr = if std::env::var_os("HOTBOND_DEBUG").is_some() {
            Level::Debug
        } else {
            Level::Info
        };
        Mutex::new(Sink {
            // No syslog daemon (a minimal container, an early boot) is not an error: stderr remains.
            syslog: syslog::unix(formatter).ok(),
            stderr,
            min_stderr,
        })
    })
}

pub fn log(level: Level, msg: &str) {
    let Ok(mut s) = sink().lock() else { return };
    if let Some(l) = s.syslog.as_mut() {
        let _ = match level {
            Level::Debug => l.debug(msg),
            Level::Info => l.info(msg),
            Level::Warn => l.warning(msg),
            Level::Error => l.err(msg),
        };
    }
    if s.stderr && level >= s.min_stderr {
        let tag = match level {
            Level::Debug => "debug: ",
            Level::Info => "",
            Level::Warn => "warning: ",
            Level::Error => "error: ",
        };
        eprintln!("hotbond: {tag}{msg}");
    }
}

/// Errors always reach stderr as well: a person running a command must see why it failed.
pub fn error(msg: &str) {
    log(Level::Error, msg);
    let stderr_on = sink().lock().map(|s| s.stderr).unwrap_or(false);
    if !stderr_on {
        eprintln!("hotbond: error: {msg}");
    }
}

#[macro_export]
macro_rules! info { ($($a:tt)*) => { $crate::log::log($crate::log::Level::Info, &format!($($a)*)) } }
#[macro_export]
macro_rules! debug { ($($a:tt)*) => { $crate::log::log($crate::log::Level::Debug, &format!($($a)*)) } }
#[macro_export]
macro_rules! warn { ($($a:tt)*) => { $crate::log::log($crate::log::Level::Warn, &format!($($a)*)) } }
