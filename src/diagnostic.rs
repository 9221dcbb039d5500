//! Source locations and suggestions shared by every error: where in which file
//! a problem sits, and the closest known name for a misspelled one.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in an input file, shown as `path:line:column` (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(path: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location { path: path.into(), line, column }
    }

    /// The start of a file, for problems that belong to the whole file.
    pub fn file(path: &Path) -> Self {
        Location::new(path, 1, 1)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", display_path(&self.path), self.line, self.column)
    }
}

/// Paths in messages always use `/`, so messages read the same on every OS.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Returns the candidate closest to `name`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min()
        .map(|(_, candidate)| candidate)
}

/// Line and column (1-based) of a byte offset in `text`.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let last_line = before.rsplit(|&byte| byte == b'\n').next().unwrap_or(before);
    let column = String::from_utf8_lossy(last_line).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["replicas", "image", "ports"];
        assert_eq!(did_you_mean("replcas", known), Some("replicas"));
        assert_eq!(did_you_mean("imgae", known), Some("image"));
        assert_eq!(did_you_mean("volumes", known), None);
    }

    #[test]
    fn finds_line_and_column_of_offset() {
        assert_eq!(line_column(b"a: 1\nbc: 2\n", 6), (2, 2));
        assert_eq!(line_column(b"abc", 0), (1, 1));
    }

    #[test]
    fn location_prints_with_forward_slashes() {
        let location = Location::new("values\\nodes\\pc2.yaml", 3, 7);
        assert_eq!(location.to_string(), "values/nodes/pc2.yaml:3:7");
    }
}
