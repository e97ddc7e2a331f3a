//! Two findings reports compared (`portaudit diff OLD NEW`): findings new
//! in NEW, fixed (in OLD only), and changed (same finding, other severity,
//! state or counts), matched by their key (see [`KEY_COLUMNS`]).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};

use super::finding_key::{fingerprint, KEY_COLUMNS};
use super::findings_file::FindingRow;
use super::table::{write_table, Column};

/// The columns whose change makes a finding "changed".
pub const COMPARED: [&str; 5] = ["severity", "state", "connections", "packets", "bytes"];

/// A finding in both reports whose compared columns differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    pub old: FindingRow,
    pub new: FindingRow,
    /// The [`COMPARED`] columns that differ, in that order.
    pub columns: Vec<&'static str>,
}

/// What changed between two findings reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingsDiff {
    /// In the new report only, in its order.
    pub new: Vec<FindingRow>,
    /// In the old report only, in its order.
    pub fixed: Vec<FindingRow>,
    pub changed: Vec<Changed>,
    pub unchanged: usize,
}

fn key(row: &FindingRow) -> String {
    let values: Vec<&str> = KEY_COLUMNS
        .iter()
        .map(|c| row.get(*c).map_or("", String::as_str))
        .collect();
    fingerprint(&values)
}

/// Compares `old` with `new`. A key held by several rows of one report
/// pairs its rows in order.
pub fn diff(old: &[FindingRow], new: &[FindingRow]) -> FindingsDiff {
    let mut olds: BTreeMap<String, Vec<&FindingRow>> = BTreeMap::new();
    for r in old {
        olds.entry(key(r)).or_default().push(r);
    }
    for rows in olds.values_mut() {
        rows.reverse();
    }
    let mut d = FindingsDiff::default();
    for r in new {
        match olds.get_mut(&key(r)).and_then(Vec::pop) {
            None => d.new.push(r.clone()),
            Some(o) => {
                let columns: Vec<&'static str> = COMPARED
                    .iter()
                    .copied()
                    .filter(|c| o.get(*c) != r.get(*c))
                    .collect();
                if columns.is_empty() {
                    d.unchanged += 1;
                } else {
                    d.changed.push(Changed {
                        old: o.clone(),
                        new: r.clone(),
                        columns,
                    });
                }
            }
        }
    }
    // What is left of the old report, in its own order.
    let mut left: BTreeMap<String, usize> =
        olds.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    for r in old.iter().rev() {
        if let Some(n) = left.get_mut(&key(r)).filter(|n| **n > 0) {
            *n -= 1;
            d.fixed.push(r.clone());
        }
    }
    d.fixed.reverse();
    d
}

fn cell<'a>(row: &'a FindingRow, column: &str) -> &'a str {
    row.get(column).map_or("", String::as_str)
}

/// "10.0.0.1 (responder) -> 10.0.0.2 (console)", roles alone when an end
/// has no address.
fn route(row: &FindingRow) -> String {
    let end = |ip: &str, role: &str| match (ip, role) {
        ("", "") => "any host".to_string(),
        ("", role) => role.to_string(),
        (ip, "") => ip.to_string(),
        (ip, role) => format!("{ip} ({role})"),
    };
    format!(
        "{} -> {}",
        end(cell(row, "src_ip"), cell(row, "src_role")),
        end(cell(row, "dst_ip"), cell(row, "dst_role"))
    )
}

fn service(row: &FindingRow) -> String {
    match (cell(row, "proto"), cell(row, "dst_port")) {
        (p, "") => p.to_string(),
        (p, port) => format!("{p}/{port}"),
    }
}

/// Writes the diff as a table for people: one line per new, fixed or
/// changed finding, then the counts.
pub fn write_diff_table<W: Write>(mut out: W, d: &FindingsDiff) -> io::Result<()> {
    let row = |change: &str, r: &FindingRow, what: String| {
        vec![
            change.to_string(),
            cell(r, "severity").to_string(),
            cell(r, "kind").to_string(),
            route(r),
            service(r),
            cell(r, "rule_id").to_string(),
            what,
        ]
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    rows.extend(d.new.iter().map(|r| row("new", r, String::new())));
    rows.extend(d.fixed.iter().map(|r| row("fixed", r, String::new())));
    rows.extend(d.changed.iter().map(|c| {
        let what = c
            .columns
            .iter()
            .map(|col| format!("{col} {} -> {}", cell(&c.old, col), cell(&c.new, col)))
            .collect::<Vec<_>>()
            .join(", ");
        row("changed", &c.new, what)
    }));
    if !rows.is_empty() {
        let columns = [
            Column::new("CHANGE"),
            Column::new("SEVERITY"),
            Column::new("KIND"),
            Column::wrapped("SOURCE -> DESTINATION", 60),
            Column::new("SERVICE"),
            Column::new("RULE"),
            Column::wrapped("WHAT CHANGED", 50),
        ];
        write_table(&mut out, &columns, &rows)?;
    }
    writeln!(
        out,
        "{} new, {} fixed, {} changed, {} unchanged",
        d.new.len(),
        d.fixed.len(),
        d.changed.len(),
        d.unchanged
    )
}

fn row_json(r: &FindingRow) -> Value {
    Value::Object(
        r.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Writes the diff as one JSON object: `new`, `fixed` and `changed`
/// findings (as their reports hold them, values as text), and the counts.
pub fn write_diff_json<W: Write>(mut out: W, d: &FindingsDiff) -> io::Result<()> {
    let v = json!({
        "new": d.new.iter().map(row_json).collect::<Vec<_>>(),
        "fixed": d.fixed.iter().map(row_json).collect::<Vec<_>>(),
        "changed": d.changed.iter().map(|c| json!({
            "old": row_json(&c.old),
            "new": row_json(&c.new),
            "columns": c.columns,
        })).collect::<Vec<_>>(),
        "counts": {
            "new": d.new.len(),
            "fixed": d.fixed.len(),
            "changed": d.changed.len(),
            "unchanged": d.unchanged,
        },
    });
    serde_json::to_writer_pretty(&mut out, &v).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, port: &str, severity: &str, packets: &str) -> FindingRow {
        [
            ("kind", kind),
            ("severity", severity),
            ("src_ip", "10.0.0.1"),
            ("dst_ip", "10.0.0.2"),
            ("proto", "tcp"),
            ("dst_port", port),
            ("packets", packets),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn new_fixed_changed_and_unchanged_are_told_apart() {
        let old = vec![
            row("unexpected-port", "22", "error", "3"),
            row("unexpected-port", "23", "error", "3"),
            row("wrong-direction", "443", "warning", "5"),
        ];
        let new = vec![
            row("unexpected-port", "22", "error", "3"),
            row("wrong-direction", "443", "error", "9"),
            row("unexpected-port", "3389", "error", "1"),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.new, vec![row("unexpected-port", "3389", "error", "1")]);
        assert_eq!(d.fixed, vec![row("unexpected-port", "23", "error", "3")]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].columns, ["severity", "packets"]);
        // Client ports and times are no part of the key.
        let mut later = row("unexpected-port", "22", "error", "3");
        later.insert("first_seen".into(), "2026-01-01T00:00:00.000000Z".into());
        // Nor where the evidence is (another day's capture).
        later.insert("source".into(), "day2.pcap byte 5004".into());
        assert_eq!(diff(&old[..1], &[later]).unchanged, 1);
    }

    #[test]
    fn the_table_names_each_change_and_counts_them() {
        let d = diff(
            &[row("unexpected-port", "23", "error", "3")],
            &[row("unexpected-port", "3389", "error", "1")],
        );
        let mut out = Vec::new();
        write_diff_table(&mut out, &d).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("new "), "{text}");
        assert!(text.contains("tcp/3389"), "{text}");
        assert!(text.contains("fixed"), "{text}");
        assert!(
            text.ends_with("1 new, 1 fixed, 0 changed, 0 unchanged\n"),
            "{text}"
        );
    }
}
