//! `portaudit diff OLD NEW`: what changed between two findings reports.

use std::path::PathBuf;

use super::{exit_code, Output, RunError};
use crate::report::{diff, read_findings, write_diff_json, write_diff_table, FindingRow};

/// How `diff` shows what changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object for scripts.
    Json,
}

/// `portaudit diff`, validated.
pub struct DiffConfig {
    pub old: PathBuf,
    pub new: PathBuf,
    pub format: DiffFormat,
    pub output: Output,
}

fn read(path: &PathBuf) -> Result<Vec<FindingRow>, RunError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RunError::Usage(format!("{}: cannot read: {e}", path.display())))?;
    read_findings(&text).map_err(|e| RunError::Usage(format!("{}: {e}", path.display())))
}

/// Compares the reports; exit status 1 when the new one has findings the
/// old one does not, else 0.
pub fn run_diff(cfg: &DiffConfig) -> Result<i32, RunError> {
    let (old, new) = (read(&cfg.old)?, read(&cfg.new)?);
    let d = diff(&old, &new);
    let mut out = cfg.output.open()?;
    match cfg.format {
        DiffFormat::Table => write_diff_table(&mut out, &d)?,
        DiffFormat::Json => write_diff_json(&mut out, &d)?,
    }
    out.flush()?;
    Ok(if d.new.is_empty() {
        exit_code::CLEAN
    } else {
        exit_code::FINDINGS
    })
}
