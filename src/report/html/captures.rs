//! The decode statistics of the HTML page: captures, skips, damage.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::*;

/// The ports the captures' RPC mappers announced, and the flows each
/// allowed (docs/audit.md#announced-ports).
pub(super) fn announcements(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    let Some(k) = doc.run.rpc.filter(|k| !k.announcements.is_empty()) else {
        return Ok(());
    };
    writeln!(s, "<section id=\"announcements\">")?;
    writeln!(s, "<h2>Announced ports</h2>")?;
    writeln!(
        s,
        "<p>Ports the DCE/RPC endpoint mapper (135) and the ONC-RPC portmapper (111) announced in the captures. A rule with <code>dynamic</code> allows a connection to such a port only when it was announced to its client.</p>"
    )?;
    writeln!(s, "<div class=\"wide\">")?;
    writeln!(s, "<table id=\"announced\">")?;
    writeln!(
        s,
        "<thead><tr><th>server</th><th>port</th><th>service</th><th>mapper</th><th>client</th><th>first answer</th><th class=\"num\">answers</th><th class=\"num\">flows allowed</th></tr></thead>"
    )?;
    writeln!(s, "<tbody>")?;
    for (i, a) in k.announcements.iter().enumerate() {
        writeln!(
            s,
            "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}/{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            a.server,
            crate::audit::proto_name(a.proto),
            a.port,
            Esc(&a.service.title()),
            a.mapper.title(),
            a.client,
            ts(a.first),
            a.count,
            k.used(i)
        )?;
    }
    writeln!(s, "</tbody>")?;
    writeln!(s, "</table>")?;
    writeln!(s, "</div>")?;
    writeln!(s, "</section>")
}

pub(super) fn decode(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    let files = doc.run.files;
    writeln!(s, "<section id=\"decode\">")?;
    writeln!(s, "<h2>Decode statistics</h2>")?;
    writeln!(
        s,
        "<p>Bytes are frame bytes on the wire (original lengths). A packet read but not used is counted under its reason, never dropped silently.</p>"
    )?;
    writeln!(s, "<div class=\"wide\">")?;
    writeln!(s, "<table id=\"files\">")?;
    writeln!(
        s,
        "<thead><tr><th>file</th><th>format</th><th>link types</th><th class=\"num\">packets read</th><th class=\"num\">used</th><th class=\"num\">skipped</th><th class=\"num\">bytes</th><th>first seen</th><th>last seen</th><th>damage</th></tr></thead>"
    )?;
    writeln!(s, "<tbody>")?;
    for f in files {
        let skipped: u64 = f.skipped.values().sum();
        let format = match (f.format.as_str(), f.compressed) {
            ("", _) => "-".to_string(),
            (fmt, true) => format!("{fmt} (gzip)"),
            (fmt, false) => fmt.to_string(),
        };
        let links: Vec<&str> = f.link_types.iter().map(String::as_str).collect();
        writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{skipped}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td>",
            Esc(&f.name),
            Esc(&format),
            Esc(&links.join(", ")),
            f.packets_read,
            f.packets_decoded,
            f.bytes_read,
            ts(f.first_ts),
            ts(f.last_ts)
        )?;
        write!(s, "<td>")?;
        if let Some(u) = &f.unreadable {
            write!(s, "<p>unreadable: {}</p>", Esc(u))?;
        }
        if !f.damage.is_empty() {
            write!(s, "<ul class=\"plain\">")?;
            for d in &f.damage {
                write!(s, "<li>{}</li>", Esc(&f.describe(d)))?;
            }
            write!(s, "</ul>")?;
        }
        if let Some(note) = f.incomplete_note() {
            write!(s, "<p>incomplete: {}</p>", Esc(&note))?;
        }
        if f.unreadable.is_none() && f.damage.is_empty() && f.incomplete_note().is_none() {
            write!(s, "none")?;
        }
        writeln!(s, "</td></tr>")?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")?;
    file_notes(s, files)?;
    if !doc.run.not_captures.is_empty() {
        writeln!(s, "<h3>Not captures, not read</h3>")?;
        writeln!(s, "<ul>")?;
        for p in doc.run.not_captures {
            writeln!(s, "<li><code>{}</code></li>", Esc(&p.display().to_string()))?;
        }
        writeln!(s, "</ul>")?;
    }
    let mut skipped: BTreeMap<Skip, u64> = BTreeMap::new();
    for f in files {
        for (reason, n) in &f.skipped {
            *skipped.entry(*reason).or_default() += n;
        }
    }
    writeln!(s, "<h3>Skipped by reason</h3>")?;
    if skipped.is_empty() {
        writeln!(s, "<p>No packet was skipped.</p>")?;
    } else {
        writeln!(
            s,
            "<table class=\"counts\" id=\"skipped\"><thead><tr><th>reason</th><th class=\"num\">packets</th></tr></thead><tbody>"
        )?;
        for (reason, n) in &skipped {
            writeln!(
                s,
                "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
                Esc(&reason.label())
            )?;
        }
        writeln!(s, "</tbody></table>")?;
    }
    let fl = &doc.run.flows;
    writeln!(s, "<h3>Flows</h3>")?;
    writeln!(
        s,
        "<table class=\"counts\" id=\"flows\"><tbody><tr><td>flows</td><td class=\"num\">{}</td></tr><tr><td>one-way (only one side seen)</td><td class=\"num\">{} ({:.1}%)</td></tr><tr><td>TCP flows</td><td class=\"num\">{}</td></tr><tr><td>TCP flows seen mid-stream</td><td class=\"num\">{} ({:.1}%)</td></tr></tbody></table>",
        fl.flows,
        fl.one_way,
        fl.one_way_share() * 100.0,
        fl.tcp_flows,
        fl.mid_stream,
        fl.mid_stream_share() * 100.0
    )?;
    let apps = fl.apps();
    if !apps.is_empty() {
        writeln!(s, "<h3>Application protocols</h3>")?;
        writeln!(
            s,
            "<p>TCP and UDP flows by the protocol their first payloads showed (<code>none</code>: no payload; <code>unknown</code>: none portaudit reads).</p>"
        )?;
        writeln!(s, "<table class=\"counts\" id=\"apps\"><tbody>")?;
        for (app, n) in &apps {
            writeln!(s, "<tr><td>{app}</td><td class=\"num\">{n}</td></tr>")?;
        }
        writeln!(s, "</tbody></table>")?;
        let c = fl.content;
        if c.total() > 0 {
            writeln!(
                s,
                "<p id=\"content-check\">Flows on ports whose rule names their protocol: {}; verified by content {}, another protocol {}, nothing to check {}.</p>",
                c.total(),
                c.verified,
                c.mismatched,
                c.unverifiable
            )?;
        }
    }
    writeln!(s, "</section>")
}

/// What the file table has no column for: odd timestamps, untimed
/// packets, what the limits kept out.
fn file_notes(s: &mut String, files: &[FileStats]) -> fmt::Result {
    let mut notes: Vec<String> = Vec::new();
    for f in files {
        let mut odd = crate::report::summary::odd_times(f);
        if f.untimed_packets > 0 {
            odd.push(format!("{} have none", f.untimed_packets));
        }
        if !odd.is_empty() {
            notes.push(format!(
                "{}: packet timestamps: {}; {}",
                f.name,
                odd.join(", "),
                crate::report::summary::ODD_TIMES
            ));
        }
        let o = &f.overflow;
        if o.packets > 0 {
            notes.push(format!(
                "{}: flow limit reached: {} packets ({} bytes) of about {} flows were not audited (--max-flows)",
                f.name,
                o.packets,
                o.bytes,
                o.flows.estimate()
            ));
        }
        if o.fragments_forgotten > 0 {
            notes.push(format!(
                "{}: fragment limit reached: {} fragmented datagrams were forgotten before their later fragments came (--max-fragments)",
                f.name, o.fragments_forgotten
            ));
        }
    }
    if notes.is_empty() {
        return Ok(());
    }
    let all = kept_out(files);
    writeln!(s, "<ul>")?;
    for n in &notes {
        writeln!(s, "<li>{}</li>", Esc(n))?;
    }
    if all.packets > 0 {
        writeln!(
            s,
            "<li>In all: {} packets kept out by the flow limit.</li>",
            all.packets
        )?;
    }
    writeln!(s, "</ul>")
}
