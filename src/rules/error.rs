//! Errors in profiles and deployments, with file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A problem in a rules or deployment file, positioned in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RulesError {
    /// Positions `message` at byte `span` of `text` (the file's contents).
    pub fn at(
        file: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(s) => line_col(text, s.start),
            None => (1, 1),
        };
        RulesError {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// From a TOML syntax or type error.
    pub fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> Self {
        let mut message = e.message().trim_end().to_string();
        if message.is_empty() {
            // The parser says nothing for some bad characters; name it.
            let ch = e
                .span()
                .and_then(|s| text.get(s.start..))
                .and_then(|t| t.chars().next());
            message = match ch {
                Some(c) if c.is_control() => format!(
                    "control character U+{:04X} is not allowed in TOML outside strings (and only tab inside them); remove it",
                    c as u32
                ),
                Some(c) => format!("unexpected {c:?}: this is not valid TOML here"),
                None => "the file ends where TOML expects more".to_string(),
            };
        }
        Self::at(file, text, e.span(), message)
    }
}

/// Reads a profile or deployment; an I/O failure becomes an error at 1:1.
pub fn read_text(path: &Path) -> Result<String, RulesError> {
    std::fs::read_to_string(path).map_err(|e| RulesError {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read: {e}"),
    })
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for RulesError {}

/// 1-based line and column (in characters) of byte `at`.
pub(super) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_byte_is_named_when_toml_says_nothing() {
        let text = "#\0 comment\nname = \"x\"\n";
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        let r = RulesError::from_toml(Path::new("d.toml"), text, &e);
        assert_eq!(
            r.to_string(),
            "d.toml:1:2: control character U+0000 is not allowed in TOML outside strings (and only tab inside them); remove it"
        );
    }
}
