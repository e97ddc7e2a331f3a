//! The HTML report (placeholder until the full report lands on this branch).

use std::io::{self, Write};

use super::AuditDoc;

/// Writes the audit as one self-contained HTML page.
pub fn write_html<W: Write>(mut out: W, doc: &AuditDoc) -> io::Result<()> {
    writeln!(
        out,
        "<!doctype html><title>portaudit: {}</title><p>{} findings</p>",
        doc.deployment.name,
        doc.findings().len()
    )?;
    out.flush()
}
