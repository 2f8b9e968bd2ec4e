//! The manual pages describe what exists: every command and option `hotbond --help` shows is
//! in hotbond(8), and every key of the example configuration is in hotbond.toml(5). A new
//! option or key without its documentation fails here.

use std::path::Path;

use clap::CommandFactory;

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// roff escapes '-' as "\-" in names and options; compare the plain text.
fn plain(roff: &str) -> String {
    roff.replace("\\-", "-")
}

#[test]
fn every_command_and_option_is_in_hotbond_8() {
    let page = plain(&read("man/hotbond.8"));
    let cli = hotbond::cli::parse::Cli::command();
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        assert!(
            page.contains(&format!(".B hotbond {name}")),
            "hotbond {name} is not in the SYNOPSIS of man/hotbond.8"
        );
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long().filter(|l| *l != "help") {
                assert!(
                    page.contains(&format!("--{long}")),
                    "hotbond {name} --{long} is not in man/hotbond.8"
                );
            }
        }
    }
    for program in [
        "hotbond-udev",
        "hotbond-wpa",
        "hotbond-settle",
        "hotbond-udhcpc-script",
    ] {
        assert!(
            page.contains(&format!(".B {program}")),
            "{program} is not in man/hotbond.8"
        );
    }
}

#[test]
fn every_example_key_is_in_hotbond_toml_5() {
    let page = plain(&read("man/hotbond.toml.5"));
    let example = read("conf/hotbond.toml");
    let mut keys = Vec::new();
    for line in example.lines() {
        // Settings, also the optional ones shown as "#: key = ...".
        let line = line.strip_prefix("#: ").unwrap_or(line);
        if line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        if let Some((key, _)) = line.split_once(" = ") {
            keys.push(key.trim().to_string());
        }
    }
    assert!(keys.len() > 10, "too few keys found: {keys:?}");
    for key in keys {
        // A key is set in bold where it is described: `.B key`, `.BR a ", " key`.
        let documented = page.lines().any(|l| {
            let mut words = l.split_whitespace();
            matches!(words.next(), Some(".B" | ".BR" | ".TP")) && words.any(|w| w == key)
        });
        assert!(
            documented,
            "key {key} is not documented in man/hotbond.toml.5"
        );
    }
}
