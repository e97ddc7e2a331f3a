//! Findings and flows as RFC 4180 CSV, findings also as NDJSON.

use std::io::{self, Write};

use serde_json::json;

use crate::audit::{proto_name, Finding, FlowVerdict};
use crate::capture::Timestamp;

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

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
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

/// Writes findings as CSV with a header row.
pub fn write_findings_csv<W: Write>(out: W, findings: &[Finding]) -> io::Result<()> {
    let mut w = csv_writer(out);
    w.write_record(FINDINGS_COLUMNS).map_err(csv_err)?;
    for f in findings {
        w.write_record([
            f.severity.label().to_string(),
            f.kind.label().to_string(),
            f.profile.clone(),
            f.rule_id.clone(),
            opt(f.src_ip),
            f.src_role.clone(),
            opt(f.dst_ip),
            f.dst_role.clone(),
            f.proto.clone(),
            f.dst_port.clone(),
            f.initiator_basis.clone(),
            f.state.clone(),
            f.connections.to_string(),
            f.packets.to_string(),
            f.bytes.to_string(),
            ts(f.first_seen),
            ts(f.last_seen),
            f.community_id.clone(),
            f.detail.clone(),
        ])
        .map_err(csv_err)?;
    }
    w.flush()
}

/// Writes findings as one JSON object per line, same fields, typed.
pub fn write_findings_ndjson<W: Write>(mut out: W, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        let port: serde_json::Value = match f.dst_port.parse::<u16>() {
            Ok(p) => json!(p),
            Err(_) if f.dst_port.is_empty() => serde_json::Value::Null,
            Err(_) => json!(f.dst_port),
        };
        let v = json!({
            "severity": f.severity.label(),
            "kind": f.kind.label(),
            "profile": f.profile,
            "rule_id": f.rule_id,
            "src_ip": f.src_ip.map(|a| a.to_string()),
            "src_role": f.src_role,
            "dst_ip": f.dst_ip.map(|a| a.to_string()),
            "dst_role": f.dst_role,
            "proto": f.proto,
            "dst_port": port,
            "initiator_basis": f.initiator_basis,
            "state": f.state,
            "connections": f.connections,
            "packets": f.packets,
            "bytes": f.bytes,
            "first_seen": f.first_seen.map(|t| t.to_string()),
            "last_seen": f.last_seen.map(|t| t.to_string()),
            "community_id": f.community_id,
            "detail": f.detail,
        });
        serde_json::to_writer(&mut out, &v)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes every flow; the verdict columns are present when `audited`.
pub fn write_flows_csv<W: Write>(out: W, flows: &[FlowVerdict], audited: bool) -> io::Result<()> {
    let mut w = csv_writer(out);
    let mut header = vec![
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
    ];
    if audited {
        header.extend(["verdict", "profile", "rule_id"]);
    }
    w.write_record(&header).map_err(csv_err)?;
    for v in flows {
        let f = &v.flow;
        let mut rec = vec![
            proto_name(f.proto),
            f.initiator.addr.to_string(),
            f.initiator.port.to_string(),
            f.responder.addr.to_string(),
            f.responder.port.to_string(),
            f.basis.label().to_string(),
            f.state.label().to_string(),
            f.connections.to_string(),
            f.packets[0].to_string(),
            f.bytes[0].to_string(),
            f.packets[1].to_string(),
            f.bytes[1].to_string(),
            ts(f.first_ts),
            ts(f.last_ts),
            f.community_id(),
        ];
        if audited {
            rec.extend([
                v.verdict.label().to_string(),
                v.profile.to_string(),
                v.rule_id.to_string(),
            ]);
        }
        w.write_record(&rec).map_err(csv_err)?;
    }
    w.flush()
}
