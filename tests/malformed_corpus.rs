//! Every file under tests/corpus/malformed/ (TOML in toml/, the recipe's env-file format in
//! env/) has one defect. `hotbond check` and `hotbond up` must refuse each with one
//! `FILE:LINE:COLUMN: message` line naming the file, exit non-zero without a panic or a
//! signal, and change nothing: no state written, no interface created.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Env, Run, HOTBOND};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/malformed");
const MIN_FILES: usize = 100;

/// The corpus's files, sorted, each with the format it is in.
fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for format in ["toml", "env"] {
        let dir = Path::new(CORPUS).join(format);
        for e in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Why `run` is not a proper refusal of `file`, or None.
fn refusal_problem(file: &Path, run: &Run) -> Option<String> {
    let Some(code) = run.code else {
        return Some(format!("killed by a signal: {}", run.stderr));
    };
    if code == 0 {
        return Some("accepted".into());
    }
    if run.stderr.contains("panicked") {
        return Some(format!("panicked: {}", run.stderr));
    }
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.is_empty()).collect();
    let [line] = lines.as_slice() else {
        return Some(format!("{} lines on stderr: {:?}", lines.len(), run.stderr));
    };
    let shown = file.display().to_string();
    let positioned = line
        .strip_prefix("hotbond: error: ")
        .and_then(|l| l.strip_prefix(shown.as_str()))
        .and_then(|l| l.strip_prefix(':'))
        .and_then(|l| {
            let mut parts = l.splitn(3, ':');
            let line: usize = parts.next()?.parse().ok()?;
            let col: usize = parts.next()?.parse().ok()?;
            let msg = parts.next()?.strip_prefix(' ')?;
            (line >= 1 && col >= 1 && !msg.trim().is_empty()).then_some(())
        });
    if positioned.is_none() {
        return Some(format!("no FILE:LINE:COLUMN: message: {line:?}"));
    }
    None
}

/// Every file in `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn the_corpus_has_enough_files_of_both_formats() {
    let files = corpus();
    assert!(
        files.len() >= MIN_FILES,
        "{} malformed configurations, at least {MIN_FILES} wanted",
        files.len()
    );
    for format in ["toml", "env"] {
        let n = files
            .iter()
            .filter(|f| f.parent().is_some_and(|d| d.ends_with(format)))
            .count();
        assert!(n >= 30, "only {n} files in {format}/");
    }
}

/// `hotbond check FILE` refuses every file, as a person would run it. The files belong to
/// whoever checked out the tree, so the ownership check is waived (it is tested elsewhere).
#[test]
fn check_refuses_every_malformed_file_with_its_position() {
    let state = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hotbond-corpus-check-{}", std::process::id()));
    let _ = fs::remove_dir_all(&state);
    let (run_dir, state_dir) = (state.join("run"), state.join("state"));
    let mut bad = Vec::new();
    for f in corpus() {
        let out = std::process::Command::new(HOTBOND)
            .arg("check")
            .arg(&f)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOTBOND_LOG_STDERR", "1")
            .env("HOTBOND_INSECURE_CONFIG_OK", "1")
            .env("HOTBOND_RUN_DIR", &run_dir)
            .env("HOTBOND_STATE_DIR", &state_dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run hotbond check");
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: std::time::Duration::ZERO,
        };
        if let Some(why) = refusal_problem(&f, &run) {
            bad.push(format!("{}: {why}", f.display()));
        }
    }
    let written = files_under(&state);
    let _ = fs::remove_dir_all(&state);
    assert!(
        bad.is_empty(),
        "{} not refused properly:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(written.is_empty(), "check wrote {written:?}");
}

/// `hotbond up bond0` with each file as the configuration, in a network namespace of its
/// own: refused like `check`, and nothing changes, neither the links nor the run and state
/// directories.
#[test]
fn up_with_a_malformed_file_changes_nothing() {
    let Some(env) = Env::new("unused.toml", "") else {
        return;
    };
    let links = || env.ip(&["-o", "link", "show"]);
    let before = links();
    let mut bad = Vec::new();
    for f in corpus() {
        let config = f.to_str().expect("corpus paths are UTF-8");
        let run = env.run_env(
            HOTBOND,
            &["up", "bond0"],
            &[
                ("HOTBOND_CONFIG", config),
                ("HOTBOND_INSECURE_CONFIG_OK", "1"),
                ("HOTBOND_LOG_STDERR", "1"),
            ],
        );
        if let Some(why) = refusal_problem(&f, &run) {
            bad.push(format!("{}: {why}", f.display()));
        }
        let written = files_under(&env.run_dir)
            .into_iter()
            .chain(files_under(&env.state_dir))
            .collect::<Vec<_>>();
        if !written.is_empty() {
            bad.push(format!("{}: wrote {written:?}", f.display()));
        }
        let now = links();
        if now != before {
            bad.push(format!(
                "{}: links changed:\n{before}\n->\n{now}",
                f.display()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} not refused properly:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
