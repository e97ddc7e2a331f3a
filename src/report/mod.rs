//! Report writers: findings and flows (CSV, NDJSON, JSON), profiles (table,
//! CSV, JSON), the stderr summary and `--stats` JSON. They format what the
//! audit decided; they decide nothing.

mod cells;
mod diff;
mod doc;
mod finding_key;
mod findings_file;
mod flow_parquet;
mod html;
mod junit;
mod matrix;
mod records;
mod sarif;
mod summary;
mod table;
mod text;
mod writer;

pub use diff::{diff, write_diff_json, write_diff_table, Changed, FindingsDiff};
pub use doc::AuditDoc;
pub use finding_key::{fingerprint, key_of, KEY_COLUMNS};
pub use findings_file::{read_findings, FindingRow, ReadError};
pub use flow_parquet::{
    write_flows_parquet, APP_COLUMNS, KEYED_COLUMNS, OPENED_COLUMNS, PARQUET_ROWS, RECORD_COLUMNS,
    SHARED_COLUMNS, SOURCE_COLUMNS,
};
pub use html::write_html;
pub use junit::write_junit;
pub use matrix::{write_matrix, write_profile_list, MatrixFormat};
pub use records::{
    write_findings, write_flows, FlowColumns, FlowFile, Format, MoreColumns, FINDINGS_COLUMNS,
    FLOW_RECORD,
};
pub use sarif::write_sarif;
pub use summary::{exit_code, input_status, write_stats, Baseline, RunSummary};
pub use table::{write_table, Column};
pub use text::plural;
pub use writer::{writer, Audited, ReportWriter, WRITERS};
