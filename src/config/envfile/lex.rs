//! Splits an EnvironmentFile into assignments the way systemd does.

use anyhow::Result;

use super::super::pos::Src;
use crate::net::excerpt;

/// One `KEY=VALUE` assignment, after systemd's unquoting.
#[derive(Debug, PartialEq)]
pub(super) struct EnvEntry {
    pub(super) key: String,
    pub(super) value: String,
    pub(super) line: usize,
    /// Byte offsets of the key and of the value's first character, so that
    /// errors about either can name its line and column.
    pub(super) key_at: usize,
    pub(super) value_at: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum St {
    PreKey,
    Key,
    PreValue,
    Value,
    Single,
    Double,
    Comment,
}

/// `#`/`;` comment lines, `KEY=VALUE` with whitespace around the value
/// dropped, single quotes (literal), double quotes (`\"`, `\\`, `` \` ``,
/// `\$` escapes), backslash escapes outside quotes, backslash-newline
/// continuation, quoted parts concatenated. Stricter than systemd in two
/// ways, because both are always mistakes: a line without '=' and an
/// unterminated quote are errors.
pub(super) fn entries(src: &Src) -> Result<Vec<EnvEntry>> {
    let mut lx = Lexer {
        src,
        chars: src.text().char_indices(),
        st: St::PreKey,
        line: 1,
        entry: empty_entry(),
        value_started: false,
        trail: None,
        quote_at: 0,
        out: Vec::new(),
    };
    while let Some((i, c)) = lx.chars.next() {
        match lx.st {
            St::PreKey => lx.pre_key(i, c),
            St::Comment => {
                if c == '\n' {
                    lx.line += 1;
                    lx.st = St::PreKey;
                }
            }
            St::Key => lx.key(i, c)?,
            St::PreValue | St::Value => lx.value(i, c),
            St::Single => lx.single(c),
            St::Double => lx.double(c),
        }
    }
    match lx.st {
        St::PreKey | St::Comment => {}
        St::Key => return Err(lx.no_equals()),
        St::PreValue | St::Value => lx.finish(),
        St::Single | St::Double => {
            return Err(src.err(lx.quote_at..lx.quote_at, "unterminated quote"))
        }
    }
    Ok(lx.out)
}

fn empty_entry() -> EnvEntry {
    EnvEntry {
        key: String::new(),
        value: String::new(),
        line: 1,
        key_at: 0,
        value_at: 0,
    }
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r'
}

struct Lexer<'a> {
    src: &'a Src<'a>,
    chars: std::str::CharIndices<'a>,
    st: St,
    line: usize,
    /// The assignment being read.
    entry: EnvEntry,
    /// Whether the value's first character was seen (`value_at` is set).
    value_started: bool,
    /// Length of the value before a trailing run of unquoted whitespace.
    trail: Option<usize>,
    quote_at: usize,
    out: Vec<EnvEntry>,
}

impl Lexer<'_> {
    fn pre_key(&mut self, i: usize, c: char) {
        if c == '#' || c == ';' {
            self.st = St::Comment;
        } else if c == '\n' {
            self.line += 1;
        } else if !is_ws(c) {
            self.st = St::Key;
            self.entry.line = self.line;
            self.entry.key_at = i;
            self.entry.key.push(c);
        }
    }

    fn key(&mut self, i: usize, c: char) -> Result<()> {
        match c {
            '\n' => return Err(self.no_equals()),
            '=' => {
                self.st = St::PreValue;
                self.trail = None;
                self.entry.value_at = i + 1;
                self.value_started = false;
            }
            _ => self.entry.key.push(c),
        }
        Ok(())
    }

    fn no_equals(&self) -> anyhow::Error {
        let at = self.entry.key_at;
        self.src.err(
            at..at,
            format!(
                "expected KEY=VALUE, found {}",
                excerpt(self.entry.key.trim_end())
            ),
        )
    }

    /// Marks where the value starts, at its first non-blank character.
    fn start_value(&mut self, i: usize) {
        if !self.value_started {
            self.value_started = true;
            self.entry.value_at = i;
        }
    }

    fn value(&mut self, i: usize, c: char) {
        match c {
            '\n' => {
                self.line += 1;
                self.finish();
                self.st = St::PreKey;
            }
            '\'' | '"' if self.st == St::PreValue => {
                self.start_value(i);
                self.st = if c == '\'' { St::Single } else { St::Double };
                self.quote_at = i;
            }
            '\\' => {
                self.start_value(i);
                self.st = St::Value;
                self.trail = None;
                match self.chars.next() {
                    // Continuation: the newline is eaten.
                    Some((_, '\n')) => self.line += 1,
                    Some((_, e)) => self.entry.value.push(e),
                    None => {}
                }
            }
            c if is_ws(c) => {
                if self.st == St::Value {
                    self.trail.get_or_insert(self.entry.value.len());
                    self.entry.value.push(c);
                }
            }
            c => {
                self.start_value(i);
                self.st = St::Value;
                self.trail = None;
                self.entry.value.push(c);
            }
        }
    }

    fn single(&mut self, c: char) {
        if c == '\'' {
            self.st = St::PreValue;
        } else {
            if c == '\n' {
                self.line += 1;
            }
            self.entry.value.push(c);
        }
    }

    fn double(&mut self, c: char) {
        let value = &mut self.entry.value;
        match c {
            '"' => self.st = St::PreValue,
            '\\' => match self.chars.next() {
                Some((_, e @ ('"' | '\\' | '`' | '$'))) => value.push(e),
                Some((_, '\n')) => self.line += 1,
                Some((_, e)) => {
                    // Like the shell: other backslashes stay.
                    value.push('\\');
                    value.push(e);
                }
                None => {}
            },
            c => {
                if c == '\n' {
                    self.line += 1;
                }
                value.push(c);
            }
        }
    }

    fn finish(&mut self) {
        let mut e = std::mem::replace(&mut self.entry, empty_entry());
        if let Some(t) = self.trail.take() {
            e.value.truncate(t);
        }
        e.key = e.key.trim_end().to_owned();
        self.out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::fixtures::{env, n, net};
    use super::*;
    use std::path::Path;

    fn parse_env_entries(text: &str, path: &Path) -> Result<Vec<EnvEntry>> {
        entries(&Src::new(text, path))
    }

    #[test]
    fn env_syntax_follows_systemd() {
        let text = concat!(
            "  # indented comment\n",
            "; semicolon comment\n",
            "OTHER=whatever \"unbalanced\n",
            "bond0PRIMARY = \"enp3s0\"  \n",
            "bond0ADDRS=192.168.0.2/24\\\n",
            " 10.0.0.2/8\n",
            "bond0ADDRS+=x\n",
            "bond1PRIMARY=eth1\n",
            "bond1PRIMARY='eth2'\n",
            "bond1ADDRS=\"10.9.0.1/16\"' 10.8.0.1/16'\n",
        );
        let entries = parse_env_entries(text, Path::new("f")).unwrap();
        let kv: Vec<(&str, &str, usize)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("OTHER", "whatever \"unbalanced", 3),
                ("bond0PRIMARY", "enp3s0", 4),
                ("bond0ADDRS", "192.168.0.2/24 10.0.0.2/8", 5),
                ("bond0ADDRS+", "x", 7),
                ("bond1PRIMARY", "eth1", 8),
                ("bond1PRIMARY", "eth2", 9),
                ("bond1ADDRS", "10.9.0.1/16 10.8.0.1/16", 10),
            ]
        );
        let c = env(text).unwrap();
        assert_eq!(c.bonds.len(), 2);
        assert_eq!(
            c.bonds[0].addresses,
            vec![net("192.168.0.2/24"), net("10.0.0.2/8")]
        );
        assert_eq!(
            c.bonds[1].primary,
            Some(n("eth2")),
            "the last assignment wins"
        );

        let e = parse_env_entries(
            "A=\"x \\\" \\$ \\n\"\nB='a\\b'\nC=a\\ b\\\\\n",
            Path::new("f"),
        )
        .unwrap();
        assert_eq!(e[0].value, "x \" $ \\n");
        assert_eq!(e[1].value, "a\\b");
        assert_eq!(e[2].value, "a b\\");
        // Multi-line single-quoted value, then the line count goes on right.
        let e = parse_env_entries("A='1\n2'\nB=3", Path::new("f")).unwrap();
        assert_eq!((e[0].value.as_str(), e[1].line), ("1\n2", 3));
    }
}
