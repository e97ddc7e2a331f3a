//! Report writers: findings (CSV, NDJSON), flows (CSV), profiles (table,
//! CSV, JSON), the stderr summary and `--stats` JSON. They format what the
//! audit decided; they decide nothing.

mod csv_out;
mod doc;
mod html;
mod matrix;
mod summary;
mod table;

pub use csv_out::{write_findings_csv, write_findings_ndjson, write_flows_csv, FINDINGS_COLUMNS};
pub use doc::AuditDoc;
pub use html::write_html;
pub use matrix::{write_matrix, write_profile_list, MatrixFormat};
pub use summary::{RunSummary, Summary};
pub use table::{write_table, Column};
