//! The run summary: a short text for stderr and the same facts as JSON for
//! `--stats`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::app::{kept_out, FileStats};
use crate::audit::{Finding, RuleCoverage};
use crate::flow::{Flow, FlowState};
use crate::rules::FindingKind;

/// Flow-level facts of a run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub flows: u64,
    pub one_way: u64,
    pub tcp_flows: u64,
    pub mid_stream: u64,
}

impl Summary {
    pub fn of<'a>(flows: impl Iterator<Item = &'a Flow>) -> Summary {
        let mut s = Summary::default();
        for f in flows {
            s.add(f);
        }
        s
    }

    pub fn add(&mut self, f: &Flow) {
        self.flows += 1;
        self.one_way += u64::from(f.is_one_way());
        if f.proto == crate::decode::PROTO_TCP {
            self.tcp_flows += 1;
            self.mid_stream += u64::from(f.state == FlowState::MidStream);
        }
    }

    pub fn merge(&mut self, o: &Summary) {
        self.flows += o.flows;
        self.one_way += o.one_way;
        self.tcp_flows += o.tcp_flows;
        self.mid_stream += o.mid_stream;
    }

    /// Share of flows where only one side was ever seen.
    pub fn one_way_share(&self) -> f64 {
        ratio(self.one_way, self.flows)
    }

    /// Share of TCP flows with no handshake in the capture.
    pub fn mid_stream_share(&self) -> f64 {
        ratio(self.mid_stream, self.tcp_flows)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Everything the summary reports.
pub struct RunSummary<'a> {
    pub files: &'a [FileStats],
    pub flows: Summary,
    /// Absent for `portaudit flows`.
    pub findings: Option<&'a [Finding]>,
    pub coverage: &'a [RuleCoverage],
    pub not_captures: &'a [std::path::PathBuf],
}

impl RunSummary<'_> {
    fn totals(&self) -> (u64, u64, u64, BTreeMap<String, u64>) {
        let mut skipped = BTreeMap::new();
        let (mut read, mut decoded, mut bytes) = (0, 0, 0);
        for f in self.files {
            read += f.packets_read;
            decoded += f.packets_decoded;
            bytes += f.bytes_read;
            for (k, v) in &f.skipped {
                *skipped.entry(k.clone()).or_default() += v;
            }
        }
        (read, decoded, bytes, skipped)
    }

    fn findings_by_kind(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        if let Some(fs) = self.findings {
            for k in FindingKind::ALL {
                m.insert(k.label(), 0);
            }
            for f in fs {
                *m.entry(f.kind.label()).or_default() += 1;
            }
        }
        m
    }

    /// The human summary.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let (read, decoded, bytes, skipped) = self.totals();
        let skipped_total: u64 = skipped.values().sum();
        let _ = writeln!(
            s,
            "packets: {read} read ({bytes} bytes on the wire), {decoded} decoded, {skipped_total} skipped"
        );
        for (k, v) in &skipped {
            let _ = writeln!(s, "  skipped {v:>10}  {k}");
        }
        for f in self.files {
            if let Some(u) = &f.unreadable {
                let _ = writeln!(s, "error: {}: {u}", f.name);
            }
            for d in &f.damage {
                let _ = writeln!(s, "damaged: {}: {d}", f.name);
            }
        }
        for p in self.not_captures {
            let _ = writeln!(s, "not a capture, not read: {}", p.display());
        }
        for f in self.files {
            let t = &f.times;
            let odd: Vec<String> = [
                (t.out_of_order, "go back in time"),
                (t.zero, "are zero (1970-01-01)"),
                (t.future, "are more than a day in the future"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            if !odd.is_empty() {
                let _ = writeln!(
                    s,
                    "note: {}: packet timestamps: {}; all packets are audited, first/last seen may mislead",
                    f.name,
                    odd.join(", ")
                );
            }
        }
        let o = kept_out(self.files);
        if o.packets > 0 {
            let _ = writeln!(
                s,
                "warning: flow limit reached: {} packets ({} bytes) of about {} flows were not audited (--max-flows)",
                o.packets,
                o.bytes,
                o.flows.estimate()
            );
        }
        if o.fragments_forgotten > 0 {
            let _ = writeln!(
                s,
                "warning: fragment limit reached: {} fragmented datagrams were forgotten before their later fragments came (--max-fragments)",
                o.fragments_forgotten
            );
        }
        let _ = writeln!(
            s,
            "flows: {} ({:.1}% one-way, {:.1}% of TCP flows mid-stream)",
            self.flows.flows,
            self.flows.one_way_share() * 100.0,
            self.flows.mid_stream_share() * 100.0
        );
        if self.flows.flows > 0 && self.flows.one_way_share() >= 0.25 {
            let _ = writeln!(
                s,
                "warning: {:.0}% of flows show only one direction: the capture may have missed the other side (SPAN/TAP direction, asymmetric routing)",
                self.flows.one_way_share() * 100.0
            );
        }
        if let Some(fs) = self.findings {
            let by_kind = self.findings_by_kind();
            let parts: Vec<String> = by_kind.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "findings: {} ({})", fs.len(), parts.join(", "));
        }
        if !self.coverage.is_empty() {
            let _ = writeln!(s, "rule coverage:");
            for c in self.coverage {
                let _ = writeln!(
                    s,
                    "  {:<10} {}/{}: {} -> {} {}/{} flows={} bytes={}{}",
                    c.status,
                    c.profile,
                    c.rule_id,
                    c.from,
                    c.to,
                    c.proto,
                    c.ports,
                    c.flows,
                    c.bytes,
                    if c.required { " (required)" } else { "" }
                );
            }
        }
        s
    }

    /// The same facts for scripts.
    pub fn to_json(&self) -> serde_json::Value {
        let (read, decoded, bytes, skipped) = self.totals();
        let o = kept_out(self.files);
        let files: Vec<_> = self
            .files
            .iter()
            .map(|f| {
                json!({
                    "file": f.name,
                    "format": f.format,
                    "compressed": f.compressed,
                    "link_types": f.link_types,
                    "packets_read": f.packets_read,
                    "packets_used": f.packets_decoded,
                    "bytes": f.bytes_read,
                    "skipped": f.skipped,
                    "untimed_packets": f.untimed_packets,
                    "timestamps": {
                        "out_of_order": f.times.out_of_order,
                        "zero": f.times.zero,
                        "future": f.times.future,
                    },
                    "limits": {
                        "flows_kept_out": f.overflow.flows.estimate(),
                        "packets_kept_out": f.overflow.packets,
                        "bytes_kept_out": f.overflow.bytes,
                        "fragments_forgotten": f.overflow.fragments_forgotten,
                    },
                    "first_seen": f.first_ts.map(|t| t.to_string()),
                    "last_seen": f.last_ts.map(|t| t.to_string()),
                    "unreadable": f.unreadable,
                    "damage": f.damage.iter().map(|d| json!({"offset": d.offset, "message": d.message})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let coverage: Vec<_> = self
            .coverage
            .iter()
            .map(|c| {
                json!({
                    "profile": c.profile, "rule_id": c.rule_id, "from": c.from, "to": c.to,
                    "proto": c.proto, "ports": c.ports, "active": c.active, "required": c.required,
                    "status": c.status, "flows": c.flows, "observed": c.observed,
                    "refused": c.refused, "unanswered": c.unanswered,
                    "violations": c.violations, "bytes": c.bytes,
                })
            })
            .collect();
        json!({
            "packets": {"read": read, "used": decoded, "skipped": skipped.values().sum::<u64>(), "skipped_by_reason": skipped, "bytes": bytes},
            "flows": {
                "total": self.flows.flows,
                "one_way": self.flows.one_way,
                "one_way_share": self.flows.one_way_share(),
                "tcp": self.flows.tcp_flows,
                "mid_stream": self.flows.mid_stream,
                "mid_stream_share": self.flows.mid_stream_share(),
            },
            "limits": {
                "flows_kept_out": o.flows.estimate(),
                "packets_kept_out": o.packets,
                "bytes_kept_out": o.bytes,
                "fragments_forgotten": o.fragments_forgotten,
            },
            "findings": self.findings.map(|f| f.len()),
            "findings_by_kind": self.findings_by_kind(),
            "coverage": coverage,
            "files": files,
            "not_captures": self.not_captures.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        })
    }
}
