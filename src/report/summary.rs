//! The run summary: a short text for stderr and the same facts as JSON for
//! `--stats`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;

use super::findings_file::FindingRow;
use crate::audit::{BaselineState, Finding, RuleCoverage};
use crate::filter::FilterReport;
use crate::flow::FlowSummary;
use crate::ingest::Skip;
use crate::ingest::{kept_out, FileStats};
use crate::rules::{FindingKind, Scope, Severity};

use super::table::{write_table_painted, Column};
use super::writer::{Audited, ReportWriter};

const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";
const DIM: &str = "2";

/// A rule status as the terminal shows it: green when the traffic is
/// there, red when it is missing or broken, yellow when only attempted.
fn status_colour(status: &str) -> Option<&'static str> {
    match status {
        "observed" => Some(GREEN),
        "violated" | "missing" => Some(RED),
        "refused" | "unanswered" => Some(YELLOW),
        "unused" | "inactive" | "unbound" => Some(DIM),
        _ => None,
    }
}

/// `1 flow`, `3 flows`, the count as `num` writes it.
fn plural_flows(n: u64, num: &dyn Fn(u64) -> String) -> String {
    format!("{} flow{}", num(n), if n == 1 { "" } else { "s" })
}

/// What odd timestamps mean for an audit, after the list of them.
pub(crate) const ODD_TIMES: &str =
    "no packet is left out of the audit for its time, but first/last seen may mislead";

/// What is odd about a file's timestamps, e.g. "3 go back in time"; empty
/// when nothing is.
pub(crate) fn odd_times(f: &FileStats) -> Vec<String> {
    let t = &f.times;
    [
        (t.out_of_order, "go back in time"),
        (t.zero, "are zero (1970-01-01)"),
        (t.future, "are more than a day in the future"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect()
}

/// Exit statuses (README and `--help` document them).
pub mod exit_code {
    /// No finding at or above `--fail-on`.
    pub const CLEAN: i32 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: i32 = 1;
    /// Usage, deployment or rules error, or a capture that cannot be read.
    pub const ERROR: i32 = 2;
    /// A capture was damaged; what could be read was audited.
    pub const DAMAGED: i32 = 3;
}

/// Exit status for what the inputs showed, when they decide it.
pub fn input_status(files: &[FileStats]) -> Option<i32> {
    if files.iter().any(|f| f.unreadable.is_some()) {
        Some(exit_code::ERROR)
    } else if files
        .iter()
        .any(|f| !f.damage.is_empty() || f.incomplete_note().is_some())
    {
        Some(exit_code::DAMAGED)
    } else {
        None
    }
}

/// Everything the summary reports.
pub struct RunSummary<'a> {
    pub files: &'a [FileStats],
    pub flows: FlowSummary,
    /// Absent for `portaudit flows`.
    pub findings: Option<&'a [Finding]>,
    pub coverage: &'a [RuleCoverage],
    pub not_captures: &'a [std::path::PathBuf],
    /// The level `--fail-on` names (`None`: never), for the verdict line.
    pub fail_on: Option<Severity>,
    /// `--filter`, when one was given.
    pub filter: Option<&'a FilterReport>,
    /// `--baseline`, when one was given.
    pub baseline: Option<Baseline<'a>>,
    /// What the captures' RPC mappers announced (docs/audit.md#announced-ports).
    pub rpc: Option<&'a crate::rpc::Knowledge>,
}

/// Announcements the text summary lists at most (`--stats` has them all).
const ANNOUNCEMENTS_SHOWN: usize = 20;

/// What an audit was compared with (`--baseline`).
#[derive(Clone, Copy, Debug)]
pub struct Baseline<'a> {
    /// The baseline report as given.
    pub file: &'a str,
    /// Its findings that this run no longer has (fixed).
    pub absent: &'a [FindingRow],
    /// `--fail-on-baseline`: findings the baseline had fail too.
    pub fail_on_known: bool,
}

impl RunSummary<'_> {
    /// Whether a finding of this severity makes the exit status 1
    /// (`--fail-on`; never when it is `never`).
    pub fn fails(&self, severity: Severity) -> bool {
        self.fail_on.is_some_and(|level| severity >= level)
    }

    /// Whether this finding makes the exit status 1: at or above
    /// `--fail-on`, and new unless `--fail-on-baseline`.
    pub fn fails_finding(&self, f: &Finding) -> bool {
        let known = f.baseline == Some(BaselineState::Unchanged);
        let counts = !known || self.baseline.is_some_and(|b| b.fail_on_known);
        counts && f.waived.is_none() && self.fails(f.severity)
    }

    /// The exit status of the audit (reports not yet written): inputs
    /// first, then findings.
    pub fn status(&self) -> i32 {
        input_status(self.files).unwrap_or_else(|| {
            if self.failing() > 0 {
                exit_code::FINDINGS
            } else {
                exit_code::CLEAN
            }
        })
    }

    /// Findings that make the exit status 1.
    pub fn failing(&self) -> usize {
        self.findings
            .unwrap_or(&[])
            .iter()
            .filter(|f| self.fails_finding(f))
            .count()
    }

    /// Findings new against the baseline, and found in it too.
    fn baseline_counts(&self) -> (usize, usize) {
        let fs = self.findings.unwrap_or(&[]);
        let n = |s| fs.iter().filter(|f| f.baseline == Some(s)).count();
        (n(BaselineState::New), n(BaselineState::Unchanged))
    }

    /// Read, used, bytes and skips over the inputs `keep` keeps.
    fn totals_where(
        &self,
        keep: impl Fn(&FileStats) -> bool,
    ) -> (u64, u64, u64, BTreeMap<Skip, u64>) {
        let mut skipped = BTreeMap::new();
        let (mut read, mut decoded, mut bytes) = (0, 0, 0);
        for f in self.files.iter().filter(|f| keep(f)) {
            read += f.packets_read;
            decoded += f.packets_decoded;
            bytes += f.bytes_read;
            for (k, v) in &f.skipped {
                *skipped.entry(*k).or_default() += v;
            }
        }
        (read, decoded, bytes, skipped)
    }

    /// Totals over the captures.
    fn totals(&self) -> (u64, u64, u64, BTreeMap<Skip, u64>) {
        self.totals_where(|f| f.records.is_none())
    }

    /// Totals over the flow-record inputs.
    fn record_totals(&self) -> (u64, u64, u64, BTreeMap<Skip, u64>) {
        self.totals_where(|f| f.records.is_some())
    }

    /// Some inputs are flow records (docs/inputs.md).
    fn has_records(&self) -> bool {
        self.files.iter().any(|f| f.records.is_some())
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

    /// The human summary: a decode table, notes on what the captures can
    /// show, a rule table, findings by kind and severity, the verdict.
    /// `color` paints statuses and severities with ANSI codes; without it
    /// the text is plain, the same bytes everywhere.
    pub fn to_text(&self, color: bool) -> String {
        self.to_text_grouped(color, false)
    }

    /// [`RunSummary::to_text`]; with `grouped`, counts over 9999 print
    /// with thousands separators (`1,234,567`), as a terminal shows them.
    pub fn to_text_grouped(&self, color: bool, grouped: bool) -> String {
        let mut out: Vec<u8> = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_text(&mut out, color, grouped);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn write_text(&self, s: &mut Vec<u8>, color: bool, grouped: bool) -> std::io::Result<()> {
        let num = |v: u64| {
            if grouped {
                super::text::grouped(v)
            } else {
                v.to_string()
            }
        };
        let paint = |sgr: &'static str, text: &str| -> String {
            if color {
                format!("\x1b[{sgr}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let (read, decoded, bytes, skipped) = self.totals();
        if !self.has_records() || self.files.iter().any(|f| f.records.is_none()) {
            writeln!(
                s,
                "packets: {} read ({} bytes on the wire), {} decoded, {} skipped",
                num(read),
                num(bytes),
                num(decoded),
                num(skipped.values().sum())
            )?;
        }
        if self.has_records() {
            let (read, used, bytes, skipped) = self.record_totals();
            writeln!(
                s,
                "flow records: {} read ({} bytes as their engines counted), {} used, {} skipped",
                num(read),
                num(bytes),
                num(used),
                num(skipped.values().sum())
            )?;
        }
        // The table's total row and the skip table: every input.
        let (read, decoded, bytes, skipped) = self.totals_where(|_| true);
        let skipped_total: u64 = skipped.values().sum();
        if let Some(filter) = self.filter {
            writeln!(s, "filter: {:?}", filter.expression)?;
            for (link, why) in &filter.not_applicable {
                writeln!(
                    s,
                    "{}: --filter cannot be compiled for link type {} ({why}): its packets are counted as {}, not audited",
                    paint(YELLOW, "warning"),
                    link.name(),
                    Skip::FilterInapplicable(*link)
                )?;
            }
        }
        let mut rows: Vec<Vec<String>> = self
            .files
            .iter()
            .map(|f| {
                vec![
                    f.name.clone(),
                    if f.unreadable.is_some() {
                        "unreadable".into()
                    } else if f.compressed {
                        format!("{}.gz", f.format)
                    } else {
                        f.format.clone()
                    },
                    f.link_types.iter().cloned().collect::<Vec<_>>().join(","),
                    num(f.packets_read),
                    num(f.packets_decoded),
                    num(f.skipped.values().sum::<u64>()),
                    num(f.bytes_read),
                    f.first_ts.map(|t| t.to_string()).unwrap_or_default(),
                    f.last_ts.map(|t| t.to_string()).unwrap_or_default(),
                    if f.unreadable.is_some() || !f.damage.is_empty() {
                        "damaged".into()
                    } else if f.incomplete_note().is_some() {
                        "incomplete".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        if self.files.len() > 1 {
            rows.push(vec![
                format!("total ({} files)", self.files.len()),
                String::new(),
                String::new(),
                num(read),
                num(decoded),
                num(skipped_total),
                num(bytes),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        if !rows.is_empty() {
            let columns = [
                Column::new("FILE"),
                Column::new("FORMAT"),
                Column::new("LINK"),
                Column::number("READ"),
                Column::number("USED"),
                Column::number("SKIPPED"),
                Column::number("BYTES"),
                Column::new("FIRST SEEN"),
                Column::new("LAST SEEN"),
                Column::new(""),
            ];
            let red = |col: usize, _: &str| (color && col == 9).then_some(RED);
            write_table_painted(s, &columns, &rows, "  ", &red)?;
        }
        if !skipped.is_empty() {
            let rows: Vec<Vec<String>> = skipped
                .iter()
                .map(|(k, v)| vec![k.label(), num(*v)])
                .collect();
            let unit = if self.has_records() {
                "PACKETS/RECORDS"
            } else {
                "PACKETS"
            };
            let columns = [Column::new("SKIPPED BECAUSE"), Column::number(unit)];
            write_table_painted(s, &columns, &rows, "  ", &|_, _| None)?;
        }
        for f in self.files {
            if let Some(u) = &f.unreadable {
                writeln!(s, "{}: {}: {u}", paint(RED, "error"), f.name)?;
            }
            for d in &f.damage {
                writeln!(
                    s,
                    "{}: {}: {}",
                    paint(RED, "damaged"),
                    f.name,
                    f.describe(d)
                )?;
            }
            if f.damaged_records_not_detailed > 0 {
                writeln!(
                    s,
                    "{}: {}: {} more damaged lines, counted by reason above",
                    paint(RED, "damaged"),
                    f.name,
                    num(f.damaged_records_not_detailed)
                )?;
            }
            if let Some(note) = f.incomplete_note() {
                writeln!(s, "{}: {}: {note}", paint(RED, "incomplete"), f.name)?;
            }
        }
        for f in self.files {
            if let Some(format) = f.records {
                writeln!(s, "note: {}: {}", f.name, format.caveat())?;
                if let Some(n) = f.sampling {
                    writeln!(
                        s,
                        "note: {}: the exporter sampled 1 packet in {n}: counts are of the sample, \
                         and a missing flow proves nothing (missing-expected findings say \
                         \"inconclusive\")",
                        f.name
                    )?;
                }
            }
        }
        for f in self.files.iter().filter(|f| !f.tunnels_unopened.is_empty()) {
            let why: Vec<String> = f
                .tunnels_unopened
                .iter()
                .map(|(k, v)| format!("{k} {}", num(*v)))
                .collect();
            writeln!(
                s,
                "note: {}: tunnels not opened, their packets counted in the tunnel's own flow: {}",
                f.name,
                why.join(", ")
            )?;
        }
        if let Some(k) = self.rpc {
            // `portaudit flows` classifies nothing: no flow was allowed.
            write_announcements(s, k, self.findings.is_some(), &num)?;
        }
        for p in self.not_captures {
            writeln!(s, "not a capture, not read: {}", p.display())?;
        }
        for f in self.files {
            let odd = odd_times(f);
            if !odd.is_empty() {
                writeln!(
                    s,
                    "note: {}: packet timestamps: {}; {ODD_TIMES}",
                    f.name,
                    odd.join(", ")
                )?;
            }
        }
        let o = kept_out(self.files);
        if o.packets > 0 {
            writeln!(
                s,
                "{}: flow limit reached: {} packets ({} bytes) of about {} flows were not audited (--max-flows)",
                paint(YELLOW, "warning"),
                o.packets,
                o.bytes,
                o.flows.estimate()
            )?;
        }
        if o.fragments_forgotten > 0 {
            writeln!(
                s,
                "{}: fragment limit reached: {} fragmented datagrams were forgotten before their later fragments came (--max-fragments)",
                paint(YELLOW, "warning"),
                o.fragments_forgotten
            )?;
        }
        writeln!(
            s,
            "flows: {} ({:.1}% one-way, {:.1}% of TCP flows mid-stream)",
            num(self.flows.flows),
            self.flows.one_way_share() * 100.0,
            self.flows.mid_stream_share() * 100.0
        )?;
        for (name, n) in &self.flows.names_bound {
            match n {
                0 => writeln!(
                    s,
                    "{}: host name {name}: no server in the captures was named so (by a client's TLS SNI or HTTP Host, or by a DNS answer); the roles bound to it hold no host",
                    paint(YELLOW, "warning")
                )?,
                n => writeln!(s, "host name {name}: {} named so", crate::report::text::plural(*n as usize, "server", "servers"))?,
            }
        }
        let f = &self.flows;
        if f.named_by_client + f.named_by_dns > 0 {
            writeln!(
                s,
                "server names: {} named by their client (TLS SNI, HTTP Host), {} by a DNS answer before them",
                crate::report::text::plural(f.named_by_client as usize, "flow", "flows"),
                num(f.named_by_dns)
            )?;
        }
        let c = self.flows.content;
        if c.total() > 0 {
            writeln!(
                s,
                "content: {} on ports whose rule names their protocol: {} verified, {} another protocol, {} with no payload to check",
                plural_flows(c.total(), &num),
                num(c.verified),
                num(c.mismatched),
                num(c.unverifiable)
            )?;
        }
        if !self.flows.tunnelled.is_empty() || !self.flows.carriers.is_empty() {
            let inside: u64 = self.flows.tunnelled.values().sum();
            let carriers: u64 = self.flows.carriers.values().sum();
            let mut parts = Vec::new();
            if inside > 0 {
                parts.push(format!(
                    "{} inside tunnels ({})",
                    plural_flows(inside, &num),
                    FlowSummary::by_kind(&self.flows.tunnelled)
                ));
            }
            if carriers > 0 {
                parts.push(format!(
                    "{} of the tunnels themselves ({}), listed, not judged",
                    plural_flows(carriers, &num),
                    FlowSummary::by_kind(&self.flows.carriers)
                ));
            }
            writeln!(s, "tunnels: {}", parts.join("; "))?;
        }
        if self.flows.mostly_one_way() {
            writeln!(
                s,
                "{}: {:.0}% of flows show only one direction: the capture may have missed the other side (SPAN/TAP direction, asymmetric routing)",
                paint(YELLOW, "warning"),
                self.flows.one_way_share() * 100.0
            )?;
        }
        if !self.coverage.is_empty() {
            writeln!(s, "rules: {}", self.coverage.len())?;
            let rows: Vec<Vec<String>> = self
                .coverage
                .iter()
                .map(|c| {
                    vec![
                        c.status.label().to_string(),
                        format!("{}/{}", c.profile, c.rule_id),
                        format!("{} -> {}", c.from.join(","), c.to.join(",")),
                        format!("{}/{}", c.proto.label(), c.ports),
                        if c.scope != Scope::Network {
                            c.scope.label().to_string()
                        } else if c.required {
                            "required".into()
                        } else {
                            "optional".into()
                        },
                        num(c.flows),
                        num(c.bytes),
                    ]
                })
                .collect();
            let columns = [
                Column::new("STATUS"),
                Column::new("RULE"),
                Column::wrapped("FROM -> TO", 40),
                Column::wrapped("PROTO/PORTS", 24),
                Column::new("NEED"),
                Column::number("FLOWS"),
                Column::number("BYTES"),
            ];
            let by_status =
                |col: usize, text: &str| (color && col == 0).then(|| status_colour(text)).flatten();
            write_table_painted(s, &columns, &rows, "  ", &by_status)?;
        }
        if let Some(fs) = self.findings {
            writeln!(s, "findings: {}", fs.len())?;
            let mut counts: BTreeMap<(FindingKind, Severity), u64> = BTreeMap::new();
            for f in fs {
                *counts.entry((f.kind, f.severity)).or_default() += 1;
            }
            let levels = [Severity::Error, Severity::Warning, Severity::Info];
            let rows: Vec<Vec<String>> = FindingKind::ALL
                .iter()
                .map(|k| {
                    let n: Vec<u64> = levels
                        .iter()
                        .map(|l| counts.get(&(*k, *l)).copied().unwrap_or(0))
                        .collect();
                    let mut row = vec![k.label().to_string()];
                    row.extend(n.iter().map(|&v| num(v)));
                    row.push(num(n.iter().sum::<u64>()));
                    row
                })
                .collect();
            let columns = [
                Column::new("KIND"),
                Column::number("ERROR"),
                Column::number("WARNING"),
                Column::number("INFO"),
                Column::number("TOTAL"),
            ];
            let by_severity = |col: usize, text: &str| match col {
                _ if !color || text == "0" => None,
                1 => Some(RED),
                2 => Some(YELLOW),
                _ => None,
            };
            write_table_painted(s, &columns, &rows, "  ", &by_severity)?;
            let failing = self.failing();
            let verdict = match self.fail_on {
                None => format!("{} (--fail-on never)", paint(GREEN, "pass")),
                Some(level) if failing == 0 => format!(
                    "{}: no finding at or above {} (--fail-on)",
                    paint(GREEN, "pass"),
                    level.label()
                ),
                Some(level) => format!(
                    "{}: {failing} finding{} at or above {} (--fail-on)",
                    paint(RED, "fail"),
                    if failing == 1 { "" } else { "s" },
                    level.label()
                ),
            };
            let waived = self
                .findings
                .unwrap_or(&[])
                .iter()
                .filter(|f| f.waived.is_some())
                .count();
            if waived > 0 {
                writeln!(
                    s,
                    "waived: {waived} finding(s), kept in the reports, failing nothing"
                )?;
            }
            if let Some(b) = &self.baseline {
                let (new, unchanged) = self.baseline_counts();
                writeln!(
                    s,
                    "baseline {}: {new} new, {unchanged} unchanged{}, {} absent (fixed)",
                    b.file,
                    if b.fail_on_known {
                        ""
                    } else {
                        " (not failing: --fail-on-baseline to fail them)"
                    },
                    b.absent.len()
                )?;
            }
            writeln!(s, "verdict: {verdict}")?;
        }
        Ok(())
    }

    /// The same facts for scripts.
    pub fn to_json(&self) -> serde_json::Value {
        let (read, decoded, bytes, skipped) = self.totals();
        let o = kept_out(self.files);
        let files: Vec<_> = self
            .files
            .iter()
            .map(|f| {
                let mut file = json!({
                    "file": f.name,
                    "format": f.format,
                    "compressed": f.compressed,
                    "link_types": f.link_types,
                    "unit": if f.records.is_some() { "records" } else { "packets" },
                    "sampling_interval": f.sampling,
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
                    "damage": f.damage.iter().map(|d| json!({"offset": d.offset, "message": d.kind.to_string()})).collect::<Vec<_>>(),
                });
                if !f.tunnels_unopened.is_empty() {
                    let why: serde_json::Map<String, serde_json::Value> = f
                        .tunnels_unopened
                        .iter()
                        .map(|(k, v)| (k.label(), json!(v)))
                        .collect();
                    file["tunnels_not_opened"] = why.into();
                }
                if !f.carried.is_empty() {
                    file["carried_inputs"] = json!(f.carried);
                }
                if f.export_lost != [0, 0] {
                    file["export_lost"] = json!({
                        "records": f.export_lost[0],
                        "v9_export_packets": f.export_lost[1],
                    });
                }
                if let Some(l) = f.live {
                    file["live"] = json!({
                        "received": l.received,
                        "dropped": l.dropped,
                        "interface_dropped": l.interface_dropped,
                    });
                }
                file
            })
            .collect();
        let coverage: Vec<_> = self
            .coverage
            .iter()
            .map(|c| {
                json!({
                    "profile": c.profile, "rule_id": c.rule_id, "from": c.from.join(";"), "to": c.to.join(";"),
                    "proto": c.proto.label(), "ports": c.ports.to_string(), "active": c.active, "required": c.required, "scope": c.scope.label(),
                    "status": c.status.label(), "flows": c.flows, "observed": c.observed,
                    "refused": c.refused, "unanswered": c.unanswered,
                    "violations": c.violations, "bytes": c.bytes,
                })
            })
            .collect();
        let records = {
            let (read, used, bytes, skipped) = self.record_totals();
            json!({"read": read, "used": used, "skipped": skipped.values().sum::<u64>(), "skipped_by_reason": skipped, "bytes": bytes})
        };
        let mut run = json!({
            "packets": {"read": read, "used": decoded, "skipped": skipped.values().sum::<u64>(), "skipped_by_reason": skipped, "bytes": bytes},
            "records": records,
            "flows": {
                "total": self.flows.flows,
                "one_way": self.flows.one_way,
                "one_way_share": self.flows.one_way_share(),
                "tcp": self.flows.tcp_flows,
                "mid_stream": self.flows.mid_stream,
                "mid_stream_share": self.flows.mid_stream_share(),
                "by_app": self.flows.apps().iter().map(|(a, n)| (a.label().to_string(), json!(n))).collect::<serde_json::Map<String, serde_json::Value>>(),
                "names_bound": self.flows.names_bound,
                "server_names": {
                    "by_client": self.flows.named_by_client,
                    "by_dns": self.flows.named_by_dns,
                },
                "content_check": {
                    "flows": self.flows.content.total(),
                    "verified": self.flows.content.verified,
                    "mismatched": self.flows.content.mismatched,
                    "unverifiable": self.flows.content.unverifiable,
                },
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
        });
        if !self.flows.tunnelled.is_empty() || !self.flows.carriers.is_empty() {
            let by_kind = |m: &BTreeMap<crate::decode::TunnelKind, u64>| {
                m.iter()
                    .map(|(k, n)| (k.label().to_string(), json!(n)))
                    .collect::<serde_json::Map<String, serde_json::Value>>()
            };
            run["flows"]["tunnelled"] = by_kind(&self.flows.tunnelled).into();
            run["flows"]["carriers"] = by_kind(&self.flows.carriers).into();
        }
        if let Some(f) = self.filter {
            run["filter"] = json!({
                "expression": f.expression,
                "not_applicable": f.not_applicable.iter().map(|(link, why)| json!({"link_type": link.0, "name": link.name(), "message": why})).collect::<Vec<_>>(),
            });
        }
        let waived = self
            .findings
            .unwrap_or(&[])
            .iter()
            .filter(|f| f.waived.is_some())
            .count();
        if waived > 0 {
            run["waived"] = json!(waived);
        }
        if let Some(k) = self
            .rpc
            .filter(|k| !k.is_empty() || !k.unreadable.is_empty())
        {
            run["rpc"] = announcements_json(k);
        }
        if let Some(b) = self.baseline {
            let (new, unchanged) = self.baseline_counts();
            run["baseline"] = json!({
                "file": b.file,
                "new": new,
                "unchanged": unchanged,
                "absent": b.absent.len(),
                "fail_on_baseline": b.fail_on_known,
            });
        }
        run
    }
}

/// The announcements of the captures' RPC mappers, for the text summary.
fn write_announcements(
    s: &mut Vec<u8>,
    k: &crate::rpc::Knowledge,
    classified: bool,
    num: &dyn Fn(u64) -> String,
) -> io::Result<()> {
    if !k.announcements.is_empty() {
        writeln!(
            s,
            "announced ports: {} (server port service, mapper → client: answers{})",
            num(k.announcements.len() as u64),
            if classified { ", flows it allowed" } else { "" }
        )?;
    }
    for (i, a) in k.announcements.iter().enumerate().take(ANNOUNCEMENTS_SHOWN) {
        let allowed = match classified {
            true => format!(", {}", num(k.used(i))),
            false => String::new(),
        };
        writeln!(
            s,
            "  {} {}/{} {}, {} → {}: {}{allowed}",
            a.server,
            crate::audit::proto_name(a.proto),
            a.port,
            a.service,
            a.mapper.label(),
            a.client,
            num(a.count),
        )?;
    }
    if k.announcements.len() > ANNOUNCEMENTS_SHOWN {
        writeln!(
            s,
            "  … and {} more (--stats lists them all)",
            num((k.announcements.len() - ANNOUNCEMENTS_SHOWN) as u64)
        )?;
    }
    if !k.unreadable.is_empty() {
        let why: Vec<String> = k
            .unreadable
            .iter()
            .map(|(w, n)| format!("{w} {}", num(*n)))
            .collect();
        writeln!(
            s,
            "note: RPC payloads on mapper ports or of binds that could not be read (their flows are audited, what they announce is not learned): {}",
            why.join(", ")
        )?;
    }
    if k.dropped > 0 {
        writeln!(
            s,
            "warning: RPC announcement limit reached: {} sightings past {} were not learned",
            num(k.dropped),
            crate::rpc::MAX_LEARNED
        )?;
    }
    Ok(())
}

/// The announcements of the captures' RPC mappers, for `--stats`.
fn announcements_json(k: &crate::rpc::Knowledge) -> serde_json::Value {
    let list: Vec<_> = k
        .announcements
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({
                "server": a.server.to_string(),
                "proto": crate::audit::proto_name(a.proto),
                "port": a.port,
                "service": a.service.to_string(),
                "service_name": a.service.title(),
                "mapper": a.mapper.label(),
                "client": a.client.to_string(),
                "first_seen": a.first.map(|t| t.to_string()),
                "answers": a.count,
                "flows_allowed": k.used(i),
            })
        })
        .collect();
    let mappers: Vec<_> = k
        .mappers
        .iter()
        .map(|(ip, m)| json!({"server": ip.to_string(), "mapper": m.label()}))
        .collect();
    json!({
        "announcements": list,
        "mappers_seen": mappers,
        "connections_named": k.named_connections(),
        "unreadable": k.unreadable,
        "not_learned": k.dropped,
        "dns_answers_not_learned": k.answers_dropped,
        "unpaired_portmapper_replies": k.unpaired_replies,
    })
}

/// The run summary as JSON (`--stats`).
pub fn write_stats<W: Write>(mut out: W, summary: &RunSummary) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, &summary.to_json()).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// The run summary as JSON (`--stats`).
pub struct StatsReport;

impl ReportWriter for StatsReport {
    fn option(&self) -> &'static str {
        "stats"
    }

    fn write(&self, out: &mut dyn Write, a: &Audited<'_>) -> io::Result<()> {
        write_stats(out, a.doc.run)
    }
}
