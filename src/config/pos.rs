//! Positions in a configuration file: byte offsets turned into the
//! FILE:LINE:COLUMN prefix every configuration error carries.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use anyhow::anyhow;

/// The text being parsed and where it came from.
pub(super) struct Src<'a> {
    text: &'a str,
    path: &'a Path,
    /// Byte offset of the start of each line, for a binary search per lookup.
    line_starts: Vec<usize>,
}

impl<'a> Src<'a> {
    pub(super) fn new(text: &'a str, path: &'a Path) -> Src<'a> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Src {
            text,
            path,
            line_starts,
        }
    }

    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(super) fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= end);
        let start = self.line_starts[line - 1];
        (line, self.text[start..end].chars().count() + 1)
    }

    /// `FILE:LINE:COLUMN: msg`, positioned at the start of `span`.
    pub(super) fn err(&self, span: Range<usize>, msg: impl fmt::Display) -> anyhow::Error {
        let (line, col) = self.line_col(span.start);
        anyhow!("{}:{line}:{col}: {msg}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let src = Src::new("ab\nc\u{e9}d\n\nx", Path::new("f"));
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(2), (1, 3));
        assert_eq!(src.line_col(3), (2, 1));
        // Columns count characters: 'é' is two bytes.
        assert_eq!(src.line_col(6), (2, 3));
        assert_eq!(src.line_col(8), (3, 1));
        assert_eq!(src.line_col(9), (4, 1));
        assert_eq!(src.line_col(100), (4, 2));
        assert_eq!(src.err(3..4, "bad").to_string(), "f:2:1: bad");
    }
}
