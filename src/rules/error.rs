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
    /// The other errors found in the same file, in file order: a file is
    /// checked whole, so that one run names every mistake.
    pub also: Vec<RulesError>,
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
            message: shorten_quotes(&message.into()),
            also: Vec::new(),
        }
    }

    /// The errors of one file as one error: the first, with the others
    /// after it in file order; `None` when there are none.
    pub fn all(mut errors: Vec<RulesError>) -> Option<RulesError> {
        errors.sort_by_key(|e| (e.line, e.column));
        let mut errors = errors.into_iter();
        let mut first = errors.next()?;
        first.also.extend(errors);
        Some(first)
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

/// Quoted values longer than this are cut in messages.
const MAX_QUOTED: usize = 80;

/// `message` with every quoted value longer than [`MAX_QUOTED`]
/// characters cut, saying how long it was: a 50 MB value is named, not
/// repeated.
fn shorten_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4096));
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        // The closing quote, skipping escaped ones.
        let mut close = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    close = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(close) = close else {
            rest = after;
            break;
        };
        let quoted = &after[..close];
        if quoted.chars().count() > MAX_QUOTED {
            let head: String = quoted.chars().take(MAX_QUOTED - 20).collect();
            out.push_str(&format!("{head}…\" ({} bytes)", quoted.len()));
        } else {
            out.push_str(quoted);
            out.push('"');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Reads a profile or deployment; an I/O failure becomes an error at 1:1,
/// and so does a file that is no TOML at all (a packet capture given to
/// `-d`, an empty file), with what it is and what was expected.
pub fn read_text(path: &Path) -> Result<String, RulesError> {
    let at_start = |message: String| RulesError {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
        also: Vec::new(),
    };
    let bytes = std::fs::read(path).map_err(|e| at_start(format!("cannot read: {e}")))?;
    if crate::capture::Container::sniff(&bytes).is_some() {
        return Err(at_start(
            "this is a packet capture (pcap, pcapng or gzip), not a TOML file: give captures as inputs, and the deployment (or profile) with -d".into(),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        at_start(format!(
            "not UTF-8 text (byte {} is not): a deployment or profile is a TOML text file",
            e.utf8_error().valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(at_start(
            "the file is empty; a deployment names its profiles and hosts (`portaudit init --profile ID` writes a skeleton to fill in)".into(),
        ));
    }
    Ok(text)
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
        )?;
        // Each further error on a line of its own, as the first is
        // printed (`error: ` before it).
        for e in &self.also {
            write!(f, "\nerror: {e}")?;
        }
        Ok(())
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
