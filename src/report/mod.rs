//! Report writers: findings (CSV, NDJSON), flows (CSV), the stderr summary
//! and `--stats` JSON. They format what the audit decided; they decide
//! nothing.

mod csv_out;
mod summary;

pub use csv_out::{write_findings_csv, write_findings_ndjson, write_flows_csv, FINDINGS_COLUMNS};
pub use summary::{RunSummary, Summary};
