//! Findings and flows as records: RFC 4180 CSV, NDJSON, or one JSON array.
//! Every format is written from the same typed row, so the fields are the
//! same in all three; CSV prints a missing value as an empty cell, JSON as
//! `null`, and JSON keeps numbers as numbers.

use std::io::{self, Write};

use super::cells::FindingText;
use super::table::{fit, write_table, write_table_painted, Column, MIN_WRAP};
use super::writer::{Audited, ReportWriter};
use crate::audit::{proto_name, Finding, FlowVerdict};
use crate::capture::Timestamp;
use crate::flow::{FlowStats, Inputs, PackedKey, StoredFlow};
use crate::ingest::records::INPUTS_KEY;
use crate::ingest::CarriedInput;

/// Report format for findings and flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180, header row, CRLF line ends.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// One JSON array, an object per line.
    Json,
    /// Aligned columns for a person at a terminal (`--format table`, or
    /// findings on a terminal without `--format`); `color` paints
    /// severities.
    Table { color: bool, width: Option<usize> },
}

/// The findings columns, in docs/audit.md#finding-rows order.
pub const FINDINGS_COLUMNS: [&str; 20] = [
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
    "source",
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
pub(super) enum Cell {
    Text(String),
    Number(u64),
    /// Empty in CSV, `null` in JSON.
    Missing,
    /// JSON already written (a flow's record): as it is in JSON, its text
    /// elsewhere.
    Json(String),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// Text that may be absent: empty is a missing value (`null` in
    /// JSON, an empty CSV cell either way).
    fn maybe(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() {
            Cell::Missing
        } else {
            Cell::Text(s)
        }
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

    fn csv(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Cell::Text(s) | Cell::Json(s) => s.as_bytes().into(),
            Cell::Number(n) => n.to_string().into_bytes().into(),
            Cell::Missing => (&b""[..]).into(),
        }
    }

    /// The cell in a table for people: `-` when missing.
    fn table(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Json(s) => s.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Missing => "-".into(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Text(s) | Cell::Json(s) => s.as_str().into(),
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

/// Rows formatted at a time on one core; chunks are formatted in parallel,
/// a window of them at a time, and written in order.
const CHUNK_ROWS: usize = 1024;
fn window_rows() -> usize {
    // Enough chunks to keep every thread busy; few enough that the
    // formatted window stays a few MB.
    4 * CHUNK_ROWS * rayon::current_num_threads()
}

/// Writes a row for each of `items` under `columns` in `format`.
fn write_records<W, T, F>(
    mut out: W,
    format: Format,
    columns: &[&'static str],
    items: &[T],
    row: F,
) -> io::Result<()>
where
    W: Write,
    T: Sync,
    F: Fn(&T) -> Vec<Cell> + Sync,
{
    use rayon::prelude::*;
    if let Format::Table { .. } = format {
        let headers: Vec<Column> = columns.iter().map(|c| Column::new(c)).collect();
        // Flows have no wrapped column: they print wide, one line each.
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|t| row(t).iter().map(Cell::table).collect())
            .collect();
        write_table(&mut out, &headers, &rows)?;
        return out.flush();
    }
    match format {
        Format::Csv => {
            let mut w = csv_writer(&mut out);
            w.write_record(columns).map_err(csv_err)?;
            w.flush()?;
        }
        Format::Json => out.write_all(b"[")?,
        Format::Ndjson | Format::Table { .. } => {}
    }
    for (w, window) in items.chunks(window_rows()).enumerate() {
        let chunks: Vec<io::Result<Vec<u8>>> = window
            .par_chunks(CHUNK_ROWS)
            .enumerate()
            .map(|(c, chunk)| {
                let first = w == 0 && c == 0;
                format_rows(format, columns, chunk.iter().map(&row), first)
            })
            .collect();
        for chunk in chunks {
            out.write_all(&chunk?)?;
        }
    }
    if format == Format::Json {
        out.write_all(if items.is_empty() { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush()
}

/// The bytes of `rows`; `first` when they start the report (a JSON array
/// separates later rows from the ones before).
fn format_rows(
    format: Format,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Cell>>,
    first: bool,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if format == Format::Csv {
        let mut w = csv_writer(&mut out);
        for row in rows {
            w.write_record(row.iter().map(Cell::csv)).map_err(csv_err)?;
        }
        w.flush()?;
        drop(w);
        return Ok(out);
    }
    for (i, row) in rows.enumerate() {
        if format == Format::Json {
            out.extend_from_slice(if first && i == 0 { b"\n" } else { b",\n" });
        }
        // Keys in column order, as the CSV header has them.
        for (j, (k, c)) in columns.iter().zip(&row).enumerate() {
            out.push(if j == 0 { b'{' } else { b',' });
            serde_json::to_writer(&mut out, k)?;
            out.push(b':');
            match c {
                Cell::Json(raw) => out.extend_from_slice(raw.as_bytes()),
                c => serde_json::to_writer(&mut out, &c.json())?,
            }
        }
        out.push(b'}');
        if format == Format::Ndjson {
            out.push(b'\n');
        }
    }
    Ok(out)
}

fn finding_row(f: &Finding) -> Vec<Cell> {
    let t = FindingText::of(f);
    vec![
        Cell::text(f.severity.label()),
        Cell::text(f.kind.label()),
        Cell::maybe(t.profile),
        Cell::maybe(t.rule_id),
        Cell::opt(f.src_ip),
        Cell::maybe(t.src_role),
        Cell::opt(f.dst_ip),
        Cell::maybe(t.dst_role),
        Cell::maybe(t.proto),
        Cell::port(&t.dst_port),
        Cell::maybe(t.initiator_basis),
        Cell::maybe(t.state),
        Cell::Number(f.connections),
        Cell::Number(f.packets),
        Cell::Number(f.bytes),
        Cell::time(f.first_seen),
        Cell::time(f.last_seen),
        Cell::maybe(t.community_id),
        Cell::text(&f.detail),
        Cell::maybe(t.source),
    ]
}

/// Writes findings: CSV with a header row, or NDJSON / JSON with the same
/// fields, typed.
/// Columns after the first version's: `waived` (the waiver's reason and
/// place) when the deployment has waivers, `baseline` (new or unchanged)
/// against `--baseline`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MoreColumns {
    pub waived: bool,
    pub baseline: bool,
}

pub fn write_findings<W: Write>(
    out: W,
    findings: &[Finding],
    format: Format,
    more: MoreColumns,
) -> io::Result<()> {
    if let Format::Table { color, width } = format {
        return write_findings_table(out, findings, color, width);
    }
    if more == MoreColumns::default() {
        return write_records(out, format, &FINDINGS_COLUMNS, findings, finding_row);
    }
    let mut columns = FINDINGS_COLUMNS.to_vec();
    if more.waived {
        columns.push("waived");
    }
    if more.baseline {
        columns.push("baseline");
    }
    write_records(out, format, &columns, findings, |f| {
        let mut row = finding_row(f);
        if more.waived {
            row.push(Cell::opt(f.waived.as_ref().map(|w| {
                format!("{} (waiver at {}, until {})", w.reason, w.place, w.expires)
            })));
        }
        if more.baseline {
            row.push(Cell::opt(f.baseline.map(|b| b.label())));
        }
        row
    })
}

/// The findings as a person reads them at a terminal: severity (coloured),
/// kind, route with roles, service, rule and the detail sentence wrapped;
/// the other columns are in the CSV and JSON forms.
fn write_findings_table<W: Write>(
    mut out: W,
    findings: &[Finding],
    color: bool,
    width: Option<usize>,
) -> io::Result<()> {
    let columns = [
        Column::new("SEVERITY"),
        Column::new("KIND"),
        Column::wrapped("SOURCE -> DESTINATION", 48),
        Column::new("SERVICE"),
        Column::new("RULE"),
        Column::wrapped("DETAIL", 64),
    ];
    let end = |ip: Option<std::net::IpAddr>, roles: &str| {
        let roles = FindingText::roles_shown(roles, ",");
        match ip {
            Some(ip) => format!("{ip} ({roles})"),
            None => roles,
        }
    };
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let t = FindingText::of(f);
            let mut detail = f.detail.clone();
            if let Some(w) = &f.waived {
                detail.push_str(&format!(" [waived until {}: {}]", w.expires, w.reason));
            }
            if let Some(b) = f.baseline {
                detail.push_str(&format!(" [{}]", b.label()));
            }
            if !t.source.is_empty() {
                detail.push_str(&format!(" [first seen in {}]", t.source));
            }
            vec![
                f.severity.label().to_string(),
                f.kind.label().to_string(),
                format!(
                    "{} -> {}",
                    end(f.src_ip, &t.src_role),
                    end(f.dst_ip, &t.dst_role)
                ),
                t.service(),
                if t.rule_id.is_empty() {
                    "-".into()
                } else {
                    t.rule_id
                },
                detail,
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "no findings")?;
        return out.flush();
    }
    let paint = |col: usize, text: &str| match (color, col, text) {
        (true, 0, "error") => Some("1;31"),
        (true, 0, "warning") => Some("33"),
        _ => None,
    };
    let fitted = fit(&columns, &rows, width);
    let narrowed = fitted.iter().zip(&columns).any(|(f, c)| f.wrap != c.wrap);
    if !narrowed {
        write_table_painted(&mut out, &fitted, &rows, "", &paint)?;
        return out.flush();
    }
    // Too narrow a terminal for the route and detail beside the rest:
    // severity, kind, service and rule on a line, then the route and the
    // detail, wrapped and indented, below it.
    let width = width.unwrap_or(80);
    let head = [0, 1, 3, 4].map(|i| Column::new(columns[i].header));
    let short: Vec<Vec<String>> = rows
        .iter()
        .map(|r| [0, 1, 3, 4].iter().map(|&i| r[i].clone()).collect())
        .collect();
    let head_paint = |col: usize, text: &str| paint(if col == 0 { 0 } else { col + 1 }, text);
    let mut table = Vec::new();
    write_table_painted(&mut table, &head, &short, "", &head_paint)?;
    let table = String::from_utf8(table).expect("the table is UTF-8");
    let mut lines = table.lines();
    writeln!(out, "{}", lines.next().unwrap_or_default())?;
    // Room for the indent, and for a word the wrap lets run one over.
    let below = [Column::wrapped("", width.saturating_sub(5).max(MIN_WRAP))];
    for (line, row) in lines.zip(&rows) {
        writeln!(out, "{line}")?;
        for text in [&row[2], &row[5]] {
            let mut wrapped = Vec::new();
            write_table(&mut wrapped, &below, &[vec![text.clone()]])?;
            // Skip the (empty) header line of the one-column table.
            for l in String::from_utf8_lossy(&wrapped).lines().skip(1) {
                writeln!(out, "    {l}")?;
            }
        }
    }
    out.flush()
}

fn flow_row(v: &FlowVerdict, columns: FlowColumns, inputs: &Inputs) -> Vec<Cell> {
    let n = match columns {
        FlowColumns::WithVerdicts => FLOWS_COLUMNS.len(),
        FlowColumns::Flows => 15,
    };
    (0..n).map(|c| flow_cell(v, c, inputs)).collect()
}

/// The column of [`flow_value`] that is the tunnel's, after
/// [`FLOWS_COLUMNS`].
pub(super) const TUNNEL_COLUMN: usize = FLOWS_COLUMNS.len();
/// The column of [`flow_value`] that says where the flow was first seen.
pub(super) const SOURCE_COLUMN: usize = FLOWS_COLUMNS.len() + 1;
/// The column of [`flow_value`] that names the RPC service a flow spoke
/// and the announcement of its port (docs/audit.md#announced-ports).
pub(super) const RPC_COLUMN: usize = FLOWS_COLUMNS.len() + 2;
/// The columns of [`flow_value`] that name the application protocol of
/// the initiator's first payload, of the responder's, and the server
/// name the client named (docs/audit.md#application-protocols).
pub(super) const CLIENT_APP_COLUMN: usize = FLOWS_COLUMNS.len() + 3;
pub(super) const SERVER_APP_COLUMN: usize = FLOWS_COLUMNS.len() + 4;
pub(super) const SERVER_NAME_COLUMN: usize = FLOWS_COLUMNS.len() + 5;
/// The column of [`flow_value`] that gives the name a DNS answer gave the
/// responder, when the client named none (docs/audit.md#application-protocols).
pub(super) const DNS_NAME_COLUMN: usize = FLOWS_COLUMNS.len() + 6;
/// The column of [`flow_value`] that gives the protocols the client's
/// ClientHello offered (ALPN; docs/audit.md#application-protocols).
pub(super) const ALPN_COLUMN: usize = FLOWS_COLUMNS.len() + 7;
/// The columns of [`flow_value`] that quote what the initiator's first
/// payload said, and the responder's, where a protocol was off its own
/// ports ([`crate::decode::quote`]).
pub(super) const CLIENT_SAID_COLUMN: usize = FLOWS_COLUMNS.len() + 8;
pub(super) const SERVER_SAID_COLUMN: usize = FLOWS_COLUMNS.len() + 9;

/// A flow's cell as [`flow_value`] makes it.
fn flow_cell(v: &FlowVerdict, c: usize, inputs: &Inputs) -> Cell {
    let mut text = String::new();
    match flow_value(v, c, inputs, &mut text) {
        Value::Number(n) => Cell::Number(n),
        Value::Text => Cell::Text(text),
        Value::Str(s) => Cell::text(s),
        Value::Time(t) => Cell::time(Some(t)),
        Value::Missing => Cell::Missing,
    }
}

/// What a flow's cell is: a number, text (written into the caller's
/// buffer), or missing.
pub(super) enum Value {
    Number(u64),
    Text,
    /// A word that needs no formatting (a label).
    Str(&'static str),
    /// A time: RFC 3339 text, or typed where the format has a type for it.
    Time(Timestamp),
    Missing,
}

/// Column `c` of [`FLOWS_COLUMNS`] (or [`TUNNEL_COLUMN`],
/// [`SOURCE_COLUMN`], whose origin names one of `inputs`) of a flow: the
/// one place a flow's cell is made, for every format. Text goes into
/// `text`, which the caller empties and may reuse, so that a writer of
/// many rows (Parquet) allocates nothing per cell.
pub(super) fn flow_value(v: &FlowVerdict, c: usize, inputs: &Inputs, text: &mut String) -> Value {
    use std::fmt::Write as _;
    let f = &v.flow;
    let mut put = |t: &dyn std::fmt::Display| {
        write!(text, "{t}").expect("writing to a string");
        Value::Text
    };
    match c {
        0 => match proto_name(f.proto) {
            std::borrow::Cow::Borrowed(s) => Value::Str(s),
            std::borrow::Cow::Owned(s) => put(&s),
        },
        1 => put(&f.initiator.addr),
        2 => Value::Number(f.initiator.port.into()),
        3 => put(&f.responder.addr),
        4 => Value::Number(f.responder.port.into()),
        5 => Value::Str(f.basis.label()),
        6 => Value::Str(f.state.label()),
        7 => Value::Number(f.connections.into()),
        8 => Value::Number(f.packets[0]),
        9 => Value::Number(f.bytes[0]),
        10 => Value::Number(f.packets[1]),
        11 => Value::Number(f.bytes[1]),
        12 => f.first_ts.map_or(Value::Missing, Value::Time),
        13 => f.last_ts.map_or(Value::Missing, Value::Time),
        14 => put(&f.community_id()),
        15 => Value::Str(v.verdict.label()),
        16 | 17 => {
            let s = if c == 16 { v.profile } else { v.rule_id };
            match s.is_empty() {
                true => Value::Missing,
                false => put(&s),
            }
        }
        TUNNEL_COLUMN => match (&f.tunnel, f.carrier) {
            (Some(t), _) => put(t),
            (None, Some(k)) => put(&format_args!("{k} carrier")),
            (None, None) => Value::Missing,
        },
        RPC_COLUMN => match &v.rpc {
            Some(r) => put(r),
            None => Value::Missing,
        },
        CLIENT_APP_COLUMN => Value::Str(f.apps[0].label()),
        SERVER_APP_COLUMN => Value::Str(f.apps[1].label()),
        SERVER_NAME_COLUMN => match &f.name {
            Some(n) => put(n),
            None => Value::Missing,
        },
        DNS_NAME_COLUMN => match &v.dns_name {
            Some(n) => put(n),
            None => Value::Missing,
        },
        ALPN_COLUMN => match &f.alpn {
            Some(a) => put(a),
            None => Value::Missing,
        },
        CLIENT_SAID_COLUMN | SERVER_SAID_COLUMN => {
            let side = usize::from(c == SERVER_SAID_COLUMN);
            match f.said.as_ref().and_then(|s| s[side].as_deref()) {
                Some(q) => put(&q),
                None => Value::Missing,
            }
        }
        SOURCE_COLUMN => match inputs.get_place(f.origin) {
            Some((input, at)) => put(&format_args!("{} {} {at}", input.name, input.unit.label())),
            None => Value::Missing,
        },
        _ => unreachable!("{c} is no flow column"),
    }
}

/// Which columns `--flows` and `portaudit flows` write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowColumns {
    /// The flows as read (`portaudit flows`).
    Flows,
    /// The flows with their verdict and rule (`audit --flows`).
    WithVerdicts,
}

/// What makes a flows report a flow file: each flow whole, and the inputs
/// they were read from.
pub struct FlowFile<'a> {
    /// The flows' keys and stats, in the order of the report's flows.
    pub flows: &'a [&'a (PackedKey, FlowStats)],
    /// The inputs read, with what was wrong with them.
    pub carried: &'a [CarriedInput],
}

/// Writes every flow, with the verdict columns when asked, and where each
/// was first seen (a place in one of `inputs`). As a flow `file`
/// (NDJSON), each row ends with its `flow_record`, what `audit` reads
/// back, and a last line lists the inputs (`portaudit_inputs`).
pub fn write_flows<W: Write>(
    mut out: W,
    flows: &[FlowVerdict],
    columns: FlowColumns,
    format: Format,
    inputs: &Inputs,
    file: Option<&FlowFile<'_>>,
) -> io::Result<()> {
    let (names, extra) = flow_columns(flows, columns, file.is_some());
    let Some(file) = file else {
        return write_records(out, format, &names, flows, |v| {
            flow_cells(v, columns, extra, inputs, None)
        });
    };
    let rows: Vec<usize> = (0..flows.len()).collect();
    write_records(&mut out, format, &names, &rows, |&i| {
        flow_cells(&flows[i], columns, extra, inputs, Some(file.flows[i]))
    })?;
    if format == Format::Ndjson {
        let line = serde_json::json!({ INPUTS_KEY: file.carried });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The columns of a flows report, and which optional ones it has.
pub(super) fn flow_columns(
    flows: &[FlowVerdict],
    columns: FlowColumns,
    stored: bool,
) -> (Vec<&'static str>, Extra) {
    let mut names = if columns == FlowColumns::WithVerdicts {
        FLOWS_COLUMNS[..].to_vec()
    } else {
        FLOWS_COLUMNS[..15].to_vec()
    };
    // Only a run that opened tunnels has a tunnel column.
    let tunnels = flows
        .iter()
        .any(|v| v.flow.tunnel.is_some() || v.flow.carrier.is_some());
    if tunnels {
        names.push("tunnel");
    }
    // Only a run whose mappers announced, or whose connections named
    // their RPC service, has an rpc column.
    let rpc = flows.iter().any(|v| v.rpc.is_some());
    if rpc {
        names.push("rpc");
    }
    names.extend(["client_app", "server_app", "server_name"]);
    // Only a run where a client offered ALPN protocols has an alpn column.
    let alpn = flows.iter().any(|v| v.flow.alpn.is_some());
    if alpn {
        names.push("alpn");
    }
    // Only a run where a protocol was off its own ports has said columns.
    let said = flows.iter().any(|v| v.flow.said.is_some());
    if said {
        names.extend(["client_said", "server_said"]);
    }
    // Only a run whose DNS answers named a flow's server has a dns_name
    // column.
    let dns = flows.iter().any(|v| v.dns_name.is_some());
    if dns {
        names.push("dns_name");
    }
    names.push("source");
    if stored {
        names.push(FLOW_RECORD);
    }
    (
        names,
        Extra {
            tunnels,
            rpc,
            alpn,
            said,
            dns,
        },
    )
}

/// The optional columns of a flows report.
#[derive(Clone, Copy, Debug)]
pub(super) struct Extra {
    pub(super) tunnels: bool,
    pub(super) rpc: bool,
    pub(super) alpn: bool,
    pub(super) said: bool,
    pub(super) dns: bool,
}

/// The column of a flow file that holds each flow whole
/// ([`crate::flow::StoredFlow`], as JSON).
pub const FLOW_RECORD: &str = "flow_record";

/// One flow's cells.
fn flow_cells(
    v: &FlowVerdict,
    columns: FlowColumns,
    extra: Extra,
    inputs: &Inputs,
    stored: Option<&(PackedKey, FlowStats)>,
) -> Vec<Cell> {
    let mut row = flow_row(v, columns, inputs);
    if extra.tunnels {
        row.push(flow_cell(v, TUNNEL_COLUMN, inputs));
    }
    if extra.rpc {
        row.push(flow_cell(v, RPC_COLUMN, inputs));
    }
    for c in [CLIENT_APP_COLUMN, SERVER_APP_COLUMN, SERVER_NAME_COLUMN] {
        row.push(flow_cell(v, c, inputs));
    }
    if extra.alpn {
        row.push(flow_cell(v, ALPN_COLUMN, inputs));
    }
    if extra.said {
        row.push(flow_cell(v, CLIENT_SAID_COLUMN, inputs));
        row.push(flow_cell(v, SERVER_SAID_COLUMN, inputs));
    }
    if extra.dns {
        row.push(flow_cell(v, DNS_NAME_COLUMN, inputs));
    }
    row.push(flow_cell(v, SOURCE_COLUMN, inputs));
    if let Some((k, s)) = stored {
        let json =
            serde_json::to_string(&StoredFlow::of(k, s, inputs)).expect("a stored flow serializes");
        row.push(Cell::Json(json));
    }
    row
}

/// The findings (`-o`), in `--format`.
pub struct FindingsReport;

impl ReportWriter for FindingsReport {
    fn option(&self) -> &'static str {
        "output"
    }

    fn write(&self, out: &mut dyn Write, a: &Audited<'_>) -> io::Result<()> {
        let more = MoreColumns {
            waived: !a.doc.deployment.waivers.is_empty(),
            baseline: a.doc.run.baseline.is_some(),
        };
        write_findings(out, &a.report.findings, a.findings_format, more)
    }
}

/// Every flow with its verdict (`--flows`), in `--format`.
pub struct FlowsReport;

impl ReportWriter for FlowsReport {
    fn option(&self) -> &'static str {
        "flows"
    }

    fn needs_flows(&self) -> bool {
        true
    }

    fn write(&self, out: &mut dyn Write, a: &Audited<'_>) -> io::Result<()> {
        write_flows(
            out,
            &a.report.flows,
            FlowColumns::WithVerdicts,
            a.format,
            &a.report.inputs,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows across chunks and windows come out once each, in order, in
    /// every format; a JSON array stays one array.
    #[test]
    fn rows_formatted_in_parallel_come_out_in_order() {
        let items: Vec<u64> = (0..(3 * window_rows() + 3 * CHUNK_ROWS + 7) as u64).collect();
        let row = |&n: &u64| {
            vec![
                Cell::Number(n),
                Cell::text(format!("a,\"{n}\"")),
                Cell::Missing,
            ]
        };
        let columns = ["n", "text", "none"];
        let write = |format| {
            let mut out = Vec::new();
            write_records(&mut out, format, &columns, &items, row).unwrap();
            String::from_utf8(out).unwrap()
        };
        let csv = write(Format::Csv);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), items.len() + 2, "header, rows, final CRLF");
        assert_eq!(lines[0], "n,text,none");
        for (n, line) in items.iter().zip(&lines[1..]) {
            assert_eq!(*line, format!("{n},\"a,\"\"{n}\"\"\","));
        }
        let json: serde_json::Value = serde_json::from_str(&write(Format::Json)).unwrap();
        let array = json.as_array().unwrap();
        assert_eq!(array.len(), items.len());
        for (n, v) in items.iter().zip(array) {
            assert_eq!(v["n"], *n);
            assert!(v["none"].is_null());
        }
        let ndjson = write(Format::Ndjson);
        let objects: Vec<serde_json::Value> = ndjson
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objects, *array);
        let none: Vec<u64> = Vec::new();
        let mut out = Vec::new();
        write_records(&mut out, Format::Json, &columns, &none, row).unwrap();
        assert_eq!(out, b"[]\n");
    }
}
