//! The HTML report (`audit --html FILE`): one self-contained page that a
//! person opens in a browser, offline. Everything is rendered here as static
//! HTML, so the page reads without JavaScript; a small inline script
//! (`html/report.js`) only sorts and filters rows, keeping its view in the URL
//! fragment. Like every writer it formats what the audit decided: statuses
//! and severities come from the classifier.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::IpAddr;

use super::cells::FindingText;
use super::text::plural;
use super::writer::{Audited, ReportWriter};
use super::AuditDoc;
use crate::audit::{BaselineState, Finding, RuleCoverage, SITE_PROFILE as SITE};
use crate::capture::Timestamp;
use crate::ingest::{kept_out, FileStats, Skip};
use crate::rules::{AuditScope, FindingKind, ProfileBinding, Scope, Severity};

mod captures;
mod matrix;
mod tables;

use captures::{announcements, decode};
use matrix::matrix;
use tables::{coverage, findings};

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Finding rows the page holds at most: past this a browser opens the page
/// slowly or not at all, and the findings report has every row anyway.
const MAX_FINDING_ROWS: usize = 5000;

/// Coverage statuses, the worst first: a matrix cell takes the first one
/// among its rules. With what each means, for the legend.
const STATUSES: [(&str, &str); 10] = [
    (
        "violated",
        "traffic broke the rule (opened the wrong way, or used a local-only or retired port)",
    ),
    ("missing", "required, and no matching traffic was attempted"),
    ("refused", "attempted, and every attempt was refused (RST)"),
    ("unanswered", "attempted, and never answered"),
    ("observed", "matching traffic was seen"),
    ("unused", "optional, and not seen"),
    (
        "unbound",
        "one of its sides has no host bound in the deployment",
    ),
    (
        "local",
        "documented as internal or localhost-only; not seen between hosts",
    ),
    (
        "retired",
        "documented as disabled in current versions; not seen",
    ),
    ("inactive", "its feature is not enabled in the deployment"),
];

/// How bad a status is: lower is worse; a status this writer does not
/// know ranks after all the others.
fn status_rank(status: &str) -> usize {
    STATUSES
        .iter()
        .position(|(s, _)| *s == status)
        .unwrap_or(STATUSES.len())
}

/// More captures than this are listed folded behind a summary line.
const FOLD_CAPTURES: usize = 5;

/// The time the captures span, or, when some timestamps are impossible
/// (zero, or more than a day in the future), that the span cannot be
/// trusted and why, as the command line's summary says it.
fn time_span(files: &[FileStats]) -> String {
    let first = files.iter().filter_map(|f| f.first_ts).min();
    let last = files.iter().filter_map(|f| f.last_ts).max();
    let (zero, future): (u64, u64) = files
        .iter()
        .fold((0, 0), |(z, f), s| (z + s.times.zero, f + s.times.future));
    let (Some(a), Some(b)) = (first, last) else {
        return String::new();
    };
    if zero + future == 0 {
        return format!("; from {a} to {b}");
    }
    let mut odd = Vec::new();
    if zero > 0 {
        odd.push(format!("{zero} dated 1970-01-01 (zero)"));
    }
    if future > 0 {
        odd.push(format!("{future} more than a day in the future"));
    }
    format!(
        "; no real time span: {} of the packets' timestamps are impossible ({}), so the first and last times ({a}, {b}) are not the traffic's",
        zero + future,
        odd.join(", ")
    )
}

/// Writes the audit as one self-contained HTML page.
pub fn write_html<W: Write>(mut out: W, doc: &AuditDoc) -> io::Result<()> {
    out.write_all(render(doc, MAX_FINDING_ROWS).as_bytes())?;
    out.flush()
}

/// The page, with at most `max_rows` finding rows.
fn render(doc: &AuditDoc, max_rows: usize) -> String {
    let mut s = String::with_capacity(64 * 1024 + doc.findings().len().min(max_rows) * 1024);
    page(&mut s, doc, max_rows).expect("formatting into a String does not fail");
    s
}

/// Text escaped for HTML: element content and quoted attribute values.
/// Capture names, deployment names and rule text are user input.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut done = 0;
        for (i, c) in self.0.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[done..i])?;
            f.write_str(entity)?;
            done = i + c.len_utf8();
        }
        f.write_str(&self.0[done..])
    }
}

/// A value for the URL fragment the script reads: every byte but the
/// unreserved ones percent-encoded.
fn fragment_value(v: &str) -> String {
    super::text::percent_encode(v, b"")
}

/// True when the `;`-joined `list` holds `item`.
fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

/// A sort key for an address: IPv4 before IPv6, each in numeric order.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("4-{:03}.{:03}.{:03}.{:03}", o[0], o[1], o[2], o[3])
        }
        IpAddr::V6(a) => {
            let segs: Vec<String> = a.segments().iter().map(|x| format!("{x:04x}")).collect();
            format!("6-{}", segs.join(":"))
        }
    }
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
    }
}

/// A rule's protocol and ports as a chip says them: `tcp/443`,
/// `udp/137,138`, `tcp/udp 389,636` (a space where a slash would read as a
/// third protocol), or the protocol alone when the rule names no port.
fn proto_ports(proto: &str, ports: &str) -> String {
    let ports = ports.replace(';', ",");
    if ports.is_empty() {
        proto.to_string()
    } else if proto.contains('/') {
        format!("{proto} {ports}")
    } else {
        format!("{proto}/{ports}")
    }
}

/// What a rule asks of the traffic: required or optional between hosts;
/// local and retired rules are neither, they say the port must not be seen
/// there.
fn requirement(c: &RuleCoverage) -> &'static str {
    match c.scope {
        Scope::Local => "local only",
        Scope::Retired => "retired",
        Scope::Network if c.required => "required",
        Scope::Network => "optional",
    }
}

/// Escaped text that may wrap after each comma: a list of twenty ports
/// should not push a matrix cell across the page.
fn breakable(text: &str) -> String {
    Esc(text).to_string().replace(',', ",<wbr>")
}

fn page(s: &mut String, doc: &AuditDoc, max_rows: usize) -> fmt::Result {
    let verdict = Verdict::of(doc);
    writeln!(s, "<!doctype html>")?;
    writeln!(s, "<html lang=\"en\">")?;
    writeln!(s, "<head>")?;
    writeln!(s, "<meta charset=\"utf-8\">")?;
    writeln!(
        s,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    // The page loads nothing: no fonts, images, scripts or styles by URL.
    writeln!(
        s,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
    )?;
    writeln!(s, "<meta name=\"generator\" content=\"portaudit\">")?;
    writeln!(
        s,
        "<title>{}: {} \u{2014} portaudit</title>",
        Esc(&doc.deployment.name),
        verdict.word
    )?;
    writeln!(s, "<style>\n{STYLE}</style>")?;
    writeln!(s, "</head>")?;
    writeln!(s, "<body>")?;
    header(s, doc, &verdict)?;
    // The findings first: what is wrong, then the matrix that places it.
    findings(s, doc, max_rows)?;
    matrix(s, doc)?;
    coverage(s, doc)?;
    announcements(s, doc)?;
    decode(s, doc)?;
    writeln!(
        s,
        "<footer>Written by portaudit. Every finding is also in the findings report (CSV or NDJSON, on standard output or in the <code>-o</code> file); <code>--stats</code> writes these statistics as JSON.</footer>"
    )?;
    writeln!(s, "<script>\n{SCRIPT}</script>")?;
    writeln!(s, "</body>")?;
    writeln!(s, "</html>")
}

/// Pass or fail against `--fail-on`, as the exit status says it.
struct Verdict {
    word: &'static str,
    class: &'static str,
    why: String,
}

impl Verdict {
    /// The verdict the exit status gives: damaged or unreadable inputs
    /// decide it before findings do, as on the command line.
    fn of(doc: &AuditDoc) -> Verdict {
        let status = doc.run.status();
        let findings = Verdict::of_findings(doc);
        let (word, class, why) = match status {
            super::exit_code::DAMAGED => (
                "DAMAGED",
                "fail",
                format!("a capture is damaged or incomplete; {}", findings.why),
            ),
            super::exit_code::ERROR => (
                "UNREADABLE",
                "fail",
                format!("a capture could not be read; {}", findings.why),
            ),
            _ => (findings.word, findings.class, findings.why),
        };
        Verdict {
            word,
            class,
            why: format!("exit status {status}: {why}"),
        }
    }

    /// Pass or fail by the findings alone.
    fn of_findings(doc: &AuditDoc) -> Verdict {
        let failing = doc.run.failing();
        match doc.run.fail_on {
            None => Verdict {
                word: "PASS",
                class: "pass",
                why: "--fail-on never: findings do not fail the audit".into(),
            },
            Some(level) if failing > 0 => Verdict {
                word: "FAIL",
                class: "fail",
                why: format!(
                    "{} at or above {level} (--fail-on {level})",
                    plural(failing, "finding", "findings")
                ),
            },
            Some(level) => Verdict {
                word: "PASS",
                class: "pass",
                why: format!("no finding at or above {level} (--fail-on {level})"),
            },
        }
    }
}

fn header(s: &mut String, doc: &AuditDoc, verdict: &Verdict) -> fmt::Result {
    let d = doc.deployment;
    let files = doc.run.files;
    writeln!(s, "<header>")?;
    writeln!(s, "<h1>portaudit: {}</h1>", Esc(&d.name))?;
    writeln!(
        s,
        "<p><span class=\"verdict {}\" id=\"verdict\">{}</span> {}</p>",
        verdict.class,
        verdict.word,
        Esc(&verdict.why)
    )?;
    let troubled: Vec<&FileStats> = files
        .iter()
        .filter(|f| f.unreadable.is_some() || !f.damage.is_empty() || f.incomplete_note().is_some())
        .collect();
    if !troubled.is_empty() {
        writeln!(
            s,
            "<p class=\"notice\">{} damaged, incomplete or unreadable: what could be read was audited; the damage is named under <a href=\"#decode\">decode statistics</a>, and the exit status is 3.</p>",
            plural(troubled.len(), "capture is", "captures are")
        )?;
    }
    let flows = &doc.run.flows;
    if flows.mostly_one_way() {
        writeln!(
            s,
            "<p class=\"notice\">{:.0}% of flows show only one direction: the capture may have missed the other side (SPAN/TAP direction, asymmetric routing), and missing traffic may be the capture's doing.</p>",
            flows.one_way_share() * 100.0
        )?;
    }
    writeln!(s, "<dl class=\"facts\">")?;
    let scope = match d.scope {
        AuditScope::Bound => "bound",
        AuditScope::All => "all",
    };
    writeln!(
        s,
        "<dt>Deployment</dt><dd>{} from <code>{}</code> (scope: {scope})</dd>",
        Esc(&d.name),
        Esc(&doc.deployment_file)
    )?;
    writeln!(s, "<dt>Profiles</dt><dd><ul class=\"plain\">")?;
    for b in &d.profiles {
        let features: Vec<&str> = b.features.iter().map(String::as_str).collect();
        writeln!(
            s,
            "<li>{} (<code>{}</code>); features: {}</li>",
            Esc(&b.profile.name),
            Esc(&b.profile.id),
            if features.is_empty() {
                "none".to_string()
            } else {
                Esc(&features.join(", ")).to_string()
            }
        )?;
    }
    writeln!(s, "</ul></dd>")?;
    // Many captures fold behind a line, so that the verdict and the
    // findings stay near the top.
    let fold = files.len() > FOLD_CAPTURES;
    let read: u64 = files.iter().map(|f| f.packets_read).sum();
    if fold {
        writeln!(
            s,
            "<dt>Captures</dt><dd><details id=\"captures\"><summary>{} captures, {read} packets{}</summary><ul class=\"plain\">",
            files.len(),
            if troubled.is_empty() {
                String::new()
            } else {
                format!("; {} damaged, incomplete or unreadable", troubled.len())
            }
        )?;
    } else {
        writeln!(s, "<dt>Captures</dt><dd><ul class=\"plain\">")?;
    }
    for f in files {
        writeln!(
            s,
            "<li><code>{}</code> {}</li>",
            Esc(&f.name),
            Esc(&format!(
                "({}, {} packets)",
                if f.format.is_empty() {
                    "unreadable"
                } else {
                    &f.format
                },
                f.packets_read
            ))
        )?;
    }
    writeln!(s, "</ul>{}</dd>", if fold { "</details>" } else { "" })?;
    let used: u64 = files.iter().map(|f| f.packets_decoded).sum();
    writeln!(
        s,
        "<dt>Traffic</dt><dd>{read} packets read, {used} used; {} ({:.1}% one-way, {:.1}% of TCP flows mid-stream){}</dd>",
        plural(flows.flows as usize, "flow", "flows"),
        flows.one_way_share() * 100.0,
        flows.mid_stream_share() * 100.0,
        Esc(&time_span(files))
    )?;
    let fs = doc.findings();
    let by_severity: Vec<String> = [Severity::Error, Severity::Warning, Severity::Info]
        .iter()
        .map(|&sev| (sev, fs.iter().filter(|f| f.severity == sev).count()))
        .filter(|&(_, n)| n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    let mut standing = Vec::new();
    if let Some(b) = &doc.run.baseline {
        let n = |st| fs.iter().filter(|f| f.baseline == Some(st)).count();
        standing.push(format!(
            "against the baseline <code>{}</code>: {} new, {} unchanged, {} fixed",
            Esc(b.file),
            n(BaselineState::New),
            n(BaselineState::Unchanged),
            b.absent.len()
        ));
    }
    let waived = fs.iter().filter(|f| f.waived.is_some()).count();
    if waived > 0 {
        standing.push(format!(
            "{} waived (shown, failing nothing)",
            plural(waived, "finding", "findings")
        ));
    }
    writeln!(
        s,
        "<dt>Findings</dt><dd>{}{}{}</dd>",
        fs.len(),
        if by_severity.is_empty() {
            String::new()
        } else {
            format!(": {}", by_severity.join(", "))
        },
        standing
            .iter()
            .map(|t| format!("; {t}"))
            .collect::<String>()
    )?;
    writeln!(s, "</dl>")?;
    writeln!(
        s,
        "<table class=\"counts\" id=\"kinds\"><thead><tr><th>kind</th><th class=\"num\">findings</th></tr></thead><tbody>"
    )?;
    for kind in FindingKind::ALL {
        let n = fs.iter().filter(|f| f.kind == *kind).count();
        let label = kind.label();
        if n == 0 {
            writeln!(
                s,
                "<tr class=\"zero\" data-kind=\"{label}\"><td>{label}</td><td class=\"num\">0</td></tr>"
            )?;
        } else {
            writeln!(
                s,
                "<tr data-kind=\"{label}\"><td><a href=\"#kind={label}\">{label}</a></td><td class=\"num\">{n}</td></tr>"
            )?;
        }
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</header>")?;
    writeln!(
        s,
        "<nav><a href=\"#findings-section\">Findings</a><a href=\"#matrix\">Role matrix</a><a href=\"#coverage-section\">Rule coverage</a><a href=\"#decode\">Decode statistics</a></nav>"
    )
}

/// The HTML page (`--html`).
pub struct HtmlReport;

impl ReportWriter for HtmlReport {
    fn option(&self) -> &'static str {
        "html"
    }

    fn write(&self, out: &mut dyn Write, a: &Audited<'_>) -> io::Result<()> {
        write_html(out, a.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters_html_gives_meaning_to() {
        let e = |t: &str| Esc(t).to_string();
        assert_eq!(
            e(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(e(""), "");
        assert_eq!(e("plain text"), "plain text");
        // Multi-byte characters around the escapes survive whole.
        assert_eq!(e("é<ü>€&"), "é&lt;ü&gt;€&amp;");
        assert_eq!(e("&amp;"), "&amp;amp;");
    }

    #[test]
    fn fragment_values_keep_only_unreserved_bytes() {
        assert_eq!(fragment_value("binalyze-air"), "binalyze-air");
        assert_eq!(fragment_value("a,b&c=d #é"), "a%2Cb%26c%3Dd%20%23%C3%A9");
    }

    #[test]
    fn worst_status_first() {
        let mut v = vec![
            "observed", "unused", "missing", "violated", "refused", "new",
        ];
        v.sort_by_key(|s| status_rank(s));
        assert_eq!(
            v,
            ["violated", "missing", "refused", "observed", "unused", "new"]
        );
    }

    /// A deployment, a capture name and a finding that all try to inject
    /// markup, and four findings on a page that holds two.
    fn hostile() -> (crate::rules::Deployment, Vec<FileStats>, Vec<Finding>) {
        let catalog = crate::rules::Catalog::shipped().unwrap();
        let text = r#"
name = "<script>alert('x')</script> & co"
[profiles.binalyze-air.hosts]
console = ["10.1.0.10"]
responder = ["10.1.20.0/24"]
[[site_rule]]
id = "site-dns"
from = ["*"]
to = ["10.1.0.2"]
proto = "udp"
ports = "53"
purpose = "DNS <b>bold</b>"
source = "Site <i>policy</i>"
"#;
        let d = crate::rules::Deployment::parse(std::path::Path::new("d.toml"), text, &catalog)
            .unwrap();
        let files = vec![FileStats {
            name: "<img src=x onerror=alert(1)>.pcap".into(),
            format: "pcap".into(),
            ..FileStats::default()
        }];
        let finding = |n: u64| Finding {
            severity: Severity::Error,
            kind: FindingKind::UnexpectedPort,
            profiles: vec!["binalyze-air".into()],
            rule_id: None,
            src_ip: Some("10.1.20.5".parse().unwrap()),
            src_roles: vec!["responder".into()],
            dst_ip: Some("10.1.0.10".parse().unwrap()),
            dst_roles: vec!["console".into()],
            proto: Some(crate::audit::FindingProto::Ip(6)),
            dst_port: Some(crate::audit::FindingPorts::Port(22)),
            initiator_bases: [crate::flow::InitiatorBasis::Syn].into(),
            state: crate::audit::FindingState::Flows([crate::flow::FlowState::Established].into()),
            connections: 1,
            packets: n,
            bytes: 100 * n,
            first_seen: None,
            last_seen: None,
            community_ids: Vec::new(),
            more_flows: 0,
            source: None,
            baseline: None,
            waived: None,
            detail: "\"quoted\" </td><script>x</script>".into(),
        };
        (d, files, (1..=4).map(finding).collect())
    }

    #[test]
    fn user_text_cannot_inject_markup_and_long_reports_say_what_they_left_out() {
        let (d, files, findings) = hostile();
        let coverage = vec![RuleCoverage {
            profile: SITE.into(),
            rule_id: "site-dns".into(),
            from: vec!["*".into()],
            to: vec!["10.1.0.2".into()],
            proto: crate::rules::Proto::Udp,
            ports: crate::rules::PortSet::parse("53").unwrap(),
            active: false,
            required: false,
            scope: crate::rules::Scope::Network,
            status: crate::audit::RuleStatus::Unused,
            flows: 0,
            observed: 0,
            refused: 0,
            unanswered: 0,
            violations: 0,
            bytes: 0,
            purpose: "DNS <b>bold</b>".into(),
            source: "Site <i>policy</i>".into(),
        }];
        let run = crate::report::RunSummary {
            files: &files,
            flows: crate::flow::FlowSummary::default(),
            findings: Some(&findings),
            coverage: &coverage,
            not_captures: &[],
            fail_on: Some(Severity::Error),
            filter: None,
            baseline: None,
            rpc: None,
        };
        let doc = AuditDoc {
            deployment: &d,
            deployment_file: "dir/<d>.toml".into(),
            run: &run,
        };
        let page = render(&doc, 2);
        for raw in [
            "<script>alert",
            "<img",
            "<b>bold",
            "<i>",
            "</td><script>",
            "<d>",
            "\"quoted\"",
        ] {
            assert!(!page.contains(raw), "unescaped {raw:?}");
        }
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.pcap"));
        assert!(page.contains("4 findings: this page shows the first 2 and leaves 2 out"));
        assert_eq!(page.matches("<tr id=\"f").count(), 2);
        // The only script is the report's own.
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains("<td data-from=\"responder\" data-to=\"console\""));
        // Header counts and the grid see every finding, not only the rows shown.
        assert!(page.contains("data-findings=\"4\""));
        assert_eq!(render(&doc, 2), page, "the same audit, the same page");
    }

    #[test]
    fn addresses_sort_by_number() {
        let k = |s: &str| ip_key(s.parse().unwrap());
        assert!(k("10.1.0.9") < k("10.1.0.10"));
        assert!(k("192.0.2.1") < k("fd00::1"));
        assert!(k("fd00::2") < k("fd00::10"));
    }
}
