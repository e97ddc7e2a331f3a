//! The one interface every report format implements, and the list of
//! them. Adding a format is a file that implements [`ReportWriter`], a
//! line in [`WRITERS`], and the command-line flag that asks for it.

use std::io::{self, Write};

use crate::audit::AuditReport;

use super::{AuditDoc, Format};

/// Everything a report may show of one audit.
pub struct Audited<'a> {
    /// Findings, coverage, and every flow with its verdict when `--flows`
    /// asked for them.
    pub report: &'a AuditReport<'a>,
    /// The same audit with its deployment and run summary.
    pub doc: &'a AuditDoc<'a>,
    /// `--format`, for the formats that have several encodings.
    pub format: Format,
    /// The findings' format: `format`, or an aligned table when findings
    /// go to a terminal and `--format` was not given.
    pub findings_format: Format,
}

/// One report format. Writers format what the audit decided; they decide
/// nothing.
pub trait ReportWriter: Sync {
    /// The command-line option that asks for this report, without its
    /// dashes (`html` for `--html`).
    fn option(&self) -> &'static str;

    /// Whether the audit must keep every flow with its verdict for it.
    fn needs_flows(&self) -> bool {
        false
    }

    fn write(&self, out: &mut dyn Write, audit: &Audited<'_>) -> io::Result<()>;
}

/// Every report format, in the order an audit writes them.
pub static WRITERS: &[&dyn ReportWriter] = &[
    &super::records::FindingsReport,
    &super::records::FlowsReport,
    &super::html::HtmlReport,
    &super::junit::JunitReport,
    &super::sarif::SarifReport,
    &super::summary::StatsReport,
];

/// The writer asked for with `--OPTION`.
pub fn writer(option: &str) -> Option<&'static dyn ReportWriter> {
    WRITERS.iter().copied().find(|w| w.option() == option)
}
