//! Findings and flows as records: RFC 4180 CSV, NDJSON, or one JSON array.
//! Every format is written from the same typed row, so the fields are the
//! same in all three; CSV prints a missing value as an empty cell, JSON as
//! `null`, and JSON keeps numbers as numbers.

use std::io::{self, Write};

use crate::audit::{proto_name, Finding, FlowVerdict};
use crate::capture::Timestamp;

/// Report format for findings and flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180, header row, CRLF line ends.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array, an object per line.
    Json,
}

/// The findings columns, in DESIGN.md's order.
pub const FINDINGS_COLUMNS: [&str; 19] = [
    "severity",
    "kind",
    "profile",
    "rule_id",
    "src_ip",
    "src_role",
    "dst_ip",
    "dst_role",
    "proto",
    "dst_port",
    "initiator_basis",
    "state",
    "connections",
    "packets",
    "bytes",
    "first_seen",
    "last_seen",
    "community_id",
    "detail",
];

/// The flows columns; the last three only when the flows were audited.
const FLOWS_COLUMNS: [&str; 18] = [
    "proto",
    "initiator_ip",
    "initiator_port",
    "responder_ip",
    "responder_port",
    "initiator_basis",
    "state",
    "connections",
    "packets_sent",
    "bytes_sent",
    "packets_received",
    "bytes_received",
    "first_seen",
    "last_seen",
    "community_id",
    "verdict",
    "profile",
    "rule_id",
];

/// One cell of a record.
enum Cell {
    Text(String),
    Number(u64),
    /// Empty in CSV, `null` in JSON.
    Missing,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    fn opt<T: ToString>(v: Option<T>) -> Cell {
        v.map_or(Cell::Missing, |v| Cell::Text(v.to_string()))
    }

    fn time(t: Option<Timestamp>) -> Cell {
        Cell::opt(t)
    }

    /// A port cell: a number when it is one, else its text (empty: missing).
    fn port(s: &str) -> Cell {
        match s.parse::<u64>() {
            Ok(p) => Cell::Number(p),
            Err(_) if s.is_empty() => Cell::Missing,
            Err(_) => Cell::text(s),
        }
    }

    fn csv(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Text(s) => s.as_str().into(),
            Cell::Number(n) => n.to_string().into(),
            Cell::Missing => "".into(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Text(s) => s.as_str().into(),
            Cell::Number(n) => (*n).into(),
            Cell::Missing => serde_json::Value::Null,
        }
    }
}

/// Every CSV report: RFC 4180, CRLF line ends.
pub(crate) fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

pub(crate) fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes `rows` under `columns` in `format`.
fn write_records<W: Write>(
    mut out: W,
    format: Format,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Cell>>,
) -> io::Result<()> {
    if format == Format::Csv {
        let mut w = csv_writer(out);
        w.write_record(columns).map_err(csv_err)?;
        for row in rows {
            w.write_record(row.iter().map(|c| c.csv().into_owned()))
                .map_err(csv_err)?;
        }
        return w.flush();
    }
    if format == Format::Json {
        out.write_all(b"[")?;
    }
    let mut written = false;
    for (i, row) in rows.enumerate() {
        written = true;
        if format == Format::Json {
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        }
        // Keys in column order, as the CSV header has them.
        for (j, (k, c)) in columns.iter().zip(&row).enumerate() {
            out.write_all(if j == 0 { b"{" } else { b"," })?;
            serde_json::to_writer(&mut out, k)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut out, &c.json())?;
        }
        out.write_all(b"}")?;
        if format == Format::Ndjson {
            out.write_all(b"\n")?;
        }
    }
    if format == Format::Json {
        out.write_all(if written { b"\n]\n" } else { b"]\n" })?;
    }
    out.flush()
}

fn finding_row(f: &Finding) -> Vec<Cell> {
    vec![
        Cell::text(f.severity.label()),
        Cell::text(f.kind.label()),
        Cell::text(&f.profile),
        Cell::text(&f.rule_id),
        Cell::opt(f.src_ip),
        Cell::text(&f.src_role),
        Cell::opt(f.dst_ip),
        Cell::text(&f.dst_role),
        Cell::text(&f.proto),
        Cell::port(&f.dst_port),
        Cell::text(&f.initiator_basis),
        Cell::text(&f.state),
        Cell::Number(f.connections),
        Cell::Number(f.packets),
        Cell::Number(f.bytes),
        Cell::time(f.first_seen),
        Cell::time(f.last_seen),
        Cell::text(&f.community_id),
        Cell::text(&f.detail),
    ]
}

/// Writes findings: CSV with a header row, or NDJSON / JSON with the same
/// fields, typed.
pub fn write_findings<W: Write>(out: W, findings: &[Finding], format: Format) -> io::Result<()> {
    write_records(
        out,
        format,
        &FINDINGS_COLUMNS,
        findings.iter().map(finding_row),
    )
}

fn flow_row(v: &FlowVerdict, audited: bool) -> Vec<Cell> {
    let f = &v.flow;
    let mut row = vec![
        Cell::Text(proto_name(f.proto)),
        Cell::Text(f.initiator.addr.to_string()),
        Cell::Number(f.initiator.port.into()),
        Cell::Text(f.responder.addr.to_string()),
        Cell::Number(f.responder.port.into()),
        Cell::text(f.basis.label()),
        Cell::text(f.state.label()),
        Cell::Number(f.connections.into()),
        Cell::Number(f.packets[0]),
        Cell::Number(f.bytes[0]),
        Cell::Number(f.packets[1]),
        Cell::Number(f.bytes[1]),
        Cell::time(f.first_ts),
        Cell::time(f.last_ts),
        Cell::Text(f.community_id()),
    ];
    if audited {
        row.extend([
            Cell::text(v.verdict.label()),
            Cell::text(v.profile),
            Cell::text(v.rule_id),
        ]);
    }
    row
}

/// Writes every flow; the verdict columns are present when `audited`.
pub fn write_flows<W: Write>(
    out: W,
    flows: &[FlowVerdict],
    audited: bool,
    format: Format,
) -> io::Result<()> {
    let columns = if audited {
        &FLOWS_COLUMNS[..]
    } else {
        &FLOWS_COLUMNS[..15]
    };
    write_records(
        out,
        format,
        columns,
        flows.iter().map(|v| flow_row(v, audited)),
    )
}
