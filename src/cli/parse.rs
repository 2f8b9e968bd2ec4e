//! The `hotbond` command line, declared once: clap parses it, prints `--help`, and refuses
//! unknown options and extra arguments with the usage (exit 2) before anything is done.
//! Names stay strings here; they become `IfName`s in the commands, so that an invalid name
//! is the same one-line refusal on every entry point.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hotbond",
    version,
    about = "Keep one network identity across a wired and a wireless NIC that come and go",
    after_help = "Environment: HOTBOND_CONFIG (the configuration file), HOTBOND_DEBUG=1 (verbose).\n\
                  See hotbond(8) and hotbond.toml(5)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show bonds, slaves, MACs, DHCP and supplicant state
    Status {
        /// Print JSON (one object for BOND, else a list)
        #[arg(long)]
        json: bool,
        /// Only this configured bond
        bond: Option<String>,
    },
    /// Create BOND (or every configured bond) and enslave every configured interface present
    Up {
        /// Every configured bond (what hotbond.service runs at boot)
        #[arg(long, conflicts_with = "bond")]
        all: bool,
        /// A configured bond
        #[arg(required_unless_present = "all")]
        bond: Option<String>,
    },
    /// Release the lease, remove addresses, stop supplicants, free the slaves, delete BOND
    Down {
        /// Print each step, doing none of them
        #[arg(long)]
        dry_run: bool,
        /// A configured bond
        bond: String,
    },
    /// Re-run the hotplug path (udev's add) for interfaces present now
    Replay {
        /// Print what would be done, doing none of it
        #[arg(long)]
        dry_run: bool,
        /// Interfaces to replay (default: every configured one present, then the bonds)
        #[arg(value_name = "IFACE")]
        ifaces: Vec<String>,
    },
    /// Validate the configuration, and say what else manages its interfaces
    Check {
        /// The file to check (default: the one hotbond reads)
        file: Option<PathBuf>,
    },
    /// Around a suspend or hibernation (run by systemd-sleep): after it, every bond's NICs
    /// replayed and its DHCP lease confirmed at once
    #[command(hide = true)]
    Sleep {
        /// pre (before the sleep: nothing to do) or post (after waking)
        phase: String,
        /// suspend, hibernate, hybrid-sleep or suspend-then-hibernate
        kind: String,
    },
    /// The supplicant job of IFACE (run by hotbond-supplicant@.service)
    #[command(hide = true)]
    ExecSupplicant {
        /// The wireless interface
        iface: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Command, ErrorKind> {
        Cli::try_parse_from(std::iter::once("hotbond").chain(args.iter().copied()))
            .map(|c| c.command)
            .map_err(|e| e.kind())
    }

    #[test]
    fn a_mistyped_option_is_refused_not_dropped() {
        assert_eq!(
            parse(&["replay", "--dryrun"]).unwrap_err(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            parse(&["down", "--dryrun", "bond0"]).unwrap_err(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            parse(&["status", "--jsn"]).unwrap_err(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            parse(&["frobnicate"]).unwrap_err(),
            ErrorKind::InvalidSubcommand
        );
    }

    #[test]
    fn extra_or_missing_arguments_are_refused() {
        assert_eq!(
            parse(&["up", "bond0", "bond1"]).unwrap_err(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            parse(&["status", "a", "b"]).unwrap_err(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            parse(&["up"]).unwrap_err(),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse(&["check", "a.toml", "b.toml"]).unwrap_err(),
            ErrorKind::UnknownArgument
        );
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn the_documented_shapes_parse() {
        assert!(matches!(
            parse(&["status", "bond0", "--json"]),
            Ok(Command::Status { json: true, bond: Some(b) }) if b == "bond0"
        ));
        assert!(matches!(
            parse(&["down", "--dry-run", "bond0"]),
            Ok(Command::Down { dry_run: true, .. })
        ));
        assert!(matches!(
            parse(&["replay", "--dry-run", "eth0", "wlan0"]),
            Ok(Command::Replay { dry_run: true, ifaces }) if ifaces == ["eth0", "wlan0"]
        ));
        assert!(matches!(
            parse(&["check", "/tmp/x.toml"]),
            Ok(Command::Check { file: Some(_) })
        ));
        assert!(matches!(
            parse(&["up", "--all"]),
            Ok(Command::Up {
                all: true,
                bond: None
            })
        ));
        assert!(matches!(
            parse(&["up", "bond0"]),
            Ok(Command::Up { all: false, bond: Some(b) }) if b == "bond0"
        ));
        assert_eq!(
            parse(&["up", "--all", "bond0"]).unwrap_err(),
            ErrorKind::ArgumentConflict
        );
        assert!(matches!(
            parse(&["exec-supplicant", "wlan0"]),
            Ok(Command::ExecSupplicant { .. })
        ));
        assert!(matches!(
            parse(&["sleep", "post", "suspend"]),
            Ok(Command::Sleep { phase, kind }) if phase == "post" && kind == "suspend"
        ));
        assert_eq!(
            parse(&["sleep", "post"]).unwrap_err(),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse(&["sleep", "--help"]).unwrap_err(),
            ErrorKind::DisplayHelp
        );
        assert_eq!(parse(&["--help"]).unwrap_err(), ErrorKind::DisplayHelp);
        assert_eq!(
            parse(&["down", "--help"]).unwrap_err(),
            ErrorKind::DisplayHelp
        );
    }

    #[test]
    fn internal_entry_points_stay_out_of_help() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        assert!(help.contains("replay"), "{help}");
        assert!(!help.contains("exec-supplicant"), "{help}");
        assert!(!help.contains("sleep"), "{help}");
    }

    #[test]
    fn the_declaration_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
