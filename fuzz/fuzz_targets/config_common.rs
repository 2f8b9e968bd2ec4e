// Shared by the two configuration targets: what every refusal must look like.

/// Every configuration error is one line starting `FILE:LINE:COLUMN: `, LINE and COLUMN
/// 1-based numbers within the text.
pub fn assert_positioned(text: &str, file: &str, e: &anyhow::Error) {
    let full = format!("{e:#}");
    assert!(!full.contains('\n'), "error spans lines: {full:?}");
    let rest = full
        .strip_prefix(file)
        .and_then(|r| r.strip_prefix(':'))
        .unwrap_or_else(|| panic!("error does not name the file: {full:?}"));
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let col: usize = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(line >= 1 && col >= 1, "no LINE:COLUMN: {full:?}");
    assert!(
        parts
            .next()
            .is_some_and(|m| m.starts_with(' ') && m.len() > 1),
        "no message after the position: {full:?}"
    );
    let lines = text.split('\n').count();
    assert!(
        line <= lines,
        "line {line} past the end ({lines}): {full:?}"
    );
}
