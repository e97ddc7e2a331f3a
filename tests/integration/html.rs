//! The HTML report as headless Chromium renders it: matrix cells, finding
//! rows, and the view (filter, sort) that the URL fragment asks for. The
//! golden pages of the fixture captures are checked with the other formats
//! (`reports.rs`).
//!
//! The browser: `PORTAUDIT_CHROMIUM`, else `chromium` or `chromium-browser`
//! on PATH. Without one the browser test prints "skipped: ..." and passes,
//! unless `PORTAUDIT_REQUIRE_CHROMIUM=1` (CI), which makes that a failure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;

use crate::{bin, code, find_program, path_str, root, skip};

/// Audits `capture` against `deployment` and writes the page to `out`;
/// returns the exit status. Run from the repository root with relative
/// paths, so the page names the files as a user would, on any machine.
fn write_report(deployment: &str, capture: &str, threads: &str, out: &Path) -> i32 {
    let o = bin()
        .current_dir(root())
        .args(["audit", "-q", "-d", deployment, capture, "-o", "/dev/null"])
        .args(["--threads", threads, "--html", &path_str(out)])
        .output()
        .expect("the portaudit binary runs");
    assert!(
        o.stderr.is_empty(),
        "{capture}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    code(&o)
}

const AIR: &str = "examples/air-lab.toml";
const VIOLATIONS: &str = "fixtures/binalyze-air/violations.pcap";

#[test]
fn one_thread_and_four_threads_give_the_same_page() {
    let dir = tempfile::tempdir().unwrap();
    let (one, four) = (dir.path().join("1.html"), dir.path().join("4.html"));
    write_report(AIR, VIOLATIONS, "1", &one);
    write_report(AIR, VIOLATIONS, "4", &four);
    assert!(std::fs::read(one).unwrap() == std::fs::read(four).unwrap());
}

/// Longest a browser may take to load and dump one page.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// The browser to drive, or why there is none.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PORTAUDIT_CHROMIUM") {
        let p = PathBuf::from(p);
        // Named on purpose and absent: a broken setup, not a skip.
        assert!(
            p.is_file(),
            "PORTAUDIT_CHROMIUM={} is not a file",
            p.display()
        );
        return Ok(p);
    }
    find_program(&["chromium", "chromium-browser"], &[]).ok_or_else(|| {
        "no chromium or chromium-browser on PATH and PORTAUDIT_CHROMIUM is not set".into()
    })
}

/// `file://` URL of an absolute path.
fn file_url(p: &Path) -> String {
    let mut url = String::from("file://");
    for b in path_str(p).bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Loads `url` in headless Chromium and returns the DOM after its scripts
/// ran. A browser that hangs is killed, with its helpers, at the deadline
/// and fails the test.
fn dump_dom(browser: &Path, url: &str, scratch: &Path, run: usize) -> String {
    let dom = scratch.join(format!("dom-{run}.html"));
    let log = scratch.join(format!("chromium-{run}.log"));
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
    ])
    // A profile of its own: no lock shared with another browser.
    .arg(format!(
        "--user-data-dir={}",
        path_str(&scratch.join(format!("profile-{run}")))
    ))
    .arg("--dump-dom")
    .arg(url)
    .stdin(Stdio::null())
    .stdout(File::create(&dom).unwrap())
    .stderr(File::create(&log).unwrap());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", browser.display()));
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            // The renderer and GPU helpers share the browser's process
            // group; end them all.
            #[cfg(unix)]
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not finish {url} within {BROWSER_TIMEOUT:?}; killed\n{}",
                browser.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "chromium on {url}: {status}\n{log}");
    let dom = std::fs::read_to_string(&dom).unwrap();
    assert!(
        dom.contains("</html>"),
        "chromium on {url} dumped no page\n{log}"
    );
    dom
}

/// One row of the findings table as the browser left it.
struct Row {
    hidden: bool,
    kind: String,
    src_role: String,
    dst_role: String,
    cells: Vec<String>,
}

impl Row {
    fn text(&self) -> String {
        self.cells.join(" ")
    }

    fn bytes(&self) -> u64 {
        // severity, kind, route, service, rule, bytes, detail.
        self.cells[5].parse().unwrap()
    }
}

/// The finding rows of a dumped page, in the order the page shows them.
fn finding_rows(dom: &str) -> Vec<Row> {
    let start = dom
        .find("<table id=\"findings\"")
        .expect("a findings table");
    let table = &dom[start..];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    let tr = Regex::new(r#"(?s)<tr ([^>]*)>(.*?)</tr>"#).unwrap();
    let td = Regex::new(r#"(?s)<td[^>]*>(.*?)</td>"#).unwrap();
    let tag = Regex::new(r#"<[^>]*>"#).unwrap();
    let attr = |name: &str, tr: &str| {
        Regex::new(&format!(r#"data-{name}="([^"]*)""#))
            .unwrap()
            .captures(tr)
            .map(|k| k[1].to_string())
            .unwrap_or_default()
    };
    tr.captures_iter(body)
        .map(|r| Row {
            hidden: r[1].contains(" hidden"),
            kind: attr("kind", &r[1]),
            src_role: attr("src-role", &r[1]),
            dst_role: attr("dst-role", &r[1]),
            cells: td
                .captures_iter(&r[2])
                .map(|c| tag.replace_all(&c[1], "").trim().to_string())
                .collect(),
        })
        .collect()
}

/// Status and finding count of the matrix cell `from` → `to` of `grid`.
fn matrix_cell(dom: &str, grid: &str, from: &str, to: &str) -> (String, u64) {
    let start = dom
        .find(&format!("<table class=\"grid\" data-profile=\"{grid}\">"))
        .unwrap_or_else(|| panic!("no grid for {grid}"));
    let table = &dom[start..start + dom[start..].find("</table>").unwrap()];
    let re = Regex::new(&format!(
        r#"<td data-from="{}" data-to="{}" data-status="([a-z]+)" data-findings="(\d+)""#,
        regex::escape(from),
        regex::escape(to)
    ))
    .unwrap();
    let c = re
        .captures(table)
        .unwrap_or_else(|| panic!("no cell {from} -> {to} in {grid}"));
    (c[1].to_string(), c[2].parse().unwrap())
}

#[test]
fn the_report_renders_in_headless_chromium_and_its_fragment_sorts_and_filters() {
    let browser = match chromium() {
        Ok(b) => b,
        Err(why) => {
            assert!(
                std::env::var("PORTAUDIT_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
                "PORTAUDIT_REQUIRE_CHROMIUM=1, but {why}"
            );
            skip(&format!(
                "the HTML report in a browser: {why} (install chromium, or set PORTAUDIT_CHROMIUM to the browser)"
            ));
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    assert_eq!(write_report(AIR, VIOLATIONS, "2", &page), 1);
    let url = file_url(&page);
    let load = |fragment: &str, run: usize| {
        let dom = dump_dom(&browser, &format!("{url}{fragment}"), dir.path(), run);
        // The script ran: it shows the controls that only work with it.
        assert!(
            dom.contains("<div class=\"controls\" id=\"findings-controls\">"),
            "{fragment}: the script did not run"
        );
        dom
    };

    // As written: the matrix and every finding row.
    let dom = load("", 0);
    let expect = [
        ("binalyze-air", "console", "ad", "observed", 0),
        ("binalyze-air", "console", "syslog", "missing", 1),
        ("binalyze-air", "responder", "console", "violated", 4),
        ("binalyze-air", "user", "console", "observed", 0),
        ("binalyze-air", "console", "responder", "none", 2),
        ("binalyze-air", "ad", "syslog", "none", 0),
        ("site", "console", "console", "violated", 1),
        ("site", "*", "10.1.0.2", "unused", 0),
    ];
    for (grid, from, to, status, findings) in expect {
        assert_eq!(
            matrix_cell(&dom, grid, from, to),
            (status.to_string(), findings),
            "{grid}: {from} -> {to}"
        );
    }
    assert!(dom.contains("<a class=\"chip st-observed\" data-rule=\"console-to-ad-ldap-ldaps\""));
    let rows = finding_rows(&dom);
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| !r.hidden));
    assert!(dom.contains("10 of 10 rows shown"));
    let known = rows
        .iter()
        .find(|r| {
            r.kind == "wrong-direction"
                && r.cells[2] == "10.1.0.10 (console) \u{2192} 10.1.20.12 (responder)"
        })
        .expect("the wrong-direction finding from the console to 10.1.20.12");
    assert_eq!(
        (
            known.cells[0].as_str(),
            known.cells[3].as_str(),
            known.cells[4].as_str()
        ),
        ("error", "tcp/443", "responder-to-console-https-443")
    );
    // The counters, times and Community IDs are in the row's details.
    assert!(
        known.cells[6].contains("stateestablished"),
        "{}",
        known.cells[6]
    );
    assert!(
        known.cells[6].contains("community IDs1:"),
        "{}",
        known.cells[6]
    );

    // Filtered: rows without the text are hidden.
    let rows = finding_rows(&load("#filter=udp", 1));
    for r in &rows {
        assert_eq!(r.hidden, !r.text().contains("udp"), "{}", r.text());
    }
    assert_eq!(rows.iter().filter(|r| !r.hidden).count(), 2);

    // Sorted by bytes, largest first; nothing hidden.
    let rows = finding_rows(&load("#sort=bytes&desc", 2));
    let bytes: Vec<u64> = rows.iter().map(Row::bytes).collect();
    let mut sorted = bytes.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(bytes, sorted);
    assert_eq!(bytes[0], 2740);
    assert!(rows.iter().all(|r| !r.hidden));

    // A matrix cell's count links to exactly its findings.
    let rows = finding_rows(&load("#profile=binalyze-air&src=responder&dst=console", 3));
    let shown: Vec<&Row> = rows.iter().filter(|r| !r.hidden).collect();
    assert_eq!(shown.len(), 4);
    assert!(shown
        .iter()
        .all(|r| r.src_role == "responder" && r.dst_role == "console"));
}

/// The page of an audit with `args` (inputs and options), and its exit status.
fn page_of(args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("page.html");
    let o = bin()
        .current_dir(root())
        .args(["audit", "-q", "-d", AIR, "-o", "/dev/null", "--html"])
        .arg(&out)
        .args(args)
        .output()
        .expect("the portaudit binary runs");
    (code(&o), std::fs::read_to_string(&out).unwrap())
}

/// What the page says agrees with the command line: the exit status in the
/// banner, local rules not called optional, a violated rule linked to its
/// findings, a cell coloured by its worst finding, the findings before the
/// matrix, and every finding's route, service, rule and detail in its row.
#[test]
fn the_page_agrees_with_the_command_line() {
    let (status, page) = page_of(&[VIOLATIONS]);
    assert_eq!(status, 1);
    assert!(page.contains(">FAIL</span> exit status 1: 7 findings at or above error"));
    assert!(page.find("id=\"findings-section\"").unwrap() < page.find("id=\"matrix\"").unwrap());
    // The console opens connections to responders against the rules: no
    // rule in the cell, two findings, the worst an error.
    assert!(page.contains(
        "<td data-from=\"console\" data-to=\"responder\" data-status=\"none\" data-findings=\"2\" data-worst=\"error\" class=\"st-none hit hit-error\">"
    ));
    // Chips are numbered by their coverage row and link to it.
    let chip = Regex::new(r##"<a class="chip st-violated" data-rule="responder-to-console-https-443" href="#r(\d+)""##).unwrap();
    let n = &chip.captures(&page).expect("a numbered chip")[1];
    let row = Regex::new(&format!(r#"(?s)<tr id="r{n}" data-profile="binalyze-air" data-rule="responder-to-console-https-443" data-status="violated">(.*?)</tr>"#)).unwrap();
    let row = &row.captures(&page).expect("its coverage row")[1];
    assert!(row.contains("<td>required</td>"), "{row}");
    assert!(
        row.contains("href=\"#profile=binalyze-air&amp;rule=responder-to-console-https-443\""),
        "{row}"
    );
    let local = Regex::new(
        r#"(?s)data-rule="site-console-database-local" data-status="violated">(.*?)</tr>"#,
    )
    .unwrap();
    let local = &local.captures(&page).expect("the local rule's row")[1];
    assert!(local.contains("<td>local only</td>"), "{local}");
    assert!(!local.contains("optional"), "{local}");
    // A finding row: route, service, rule and detail in its cells.
    assert!(page.contains("<td class=\"route\" data-v=\"4-010.001.000.010\"><span class=\"mono\">10.1.0.10</span> <span class=\"role\">(console)</span> \u{2192} <span class=\"mono\">10.1.20.12</span> <span class=\"role\">(responder)</span></td>"));
    assert!(page.contains("<td class=\"rule\" title=\"responder-to-console-https-443\">responder-to-console-https-443</td>"));
}

/// Many captures fold behind one line; a damaged one makes the banner say
/// exit status 3; impossible timestamps are not shown as the traffic's span.
#[test]
fn many_captures_fold_damage_is_the_verdict_and_odd_times_are_no_span() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(root().join(VIOLATIONS)).unwrap();
    let mut files = Vec::new();
    for i in 0..6 {
        let p = dir.path().join(format!("part{i}.pcap"));
        // The last one is cut in the middle of a record.
        let len = if i == 5 {
            bytes.len() - 10
        } else {
            bytes.len()
        };
        std::fs::write(&p, &bytes[..len]).unwrap();
        files.push(path_str(&p));
    }
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (status, page) = page_of(&args);
    assert_eq!(status, 3);
    assert!(
        page.contains("<details id=\"captures\"><summary>6 captures, "),
        "folded"
    );
    assert!(page.contains("; 1 damaged, incomplete or unreadable</summary>"));
    assert!(page.contains(">DAMAGED</span> exit status 3: a capture is damaged or incomplete;"));

    // A capture dated from the epoch: its first packet's time is zero.
    let mut s = portaudit_synth::Scenario::new(0);
    s.ping(
        "10.1.0.10".parse().unwrap(),
        "10.1.20.11".parse().unwrap(),
        2,
    );
    let epoch = dir.path().join("epoch.pcap");
    s.write_pcap(File::create(&epoch).unwrap()).unwrap();
    let (_, page) = page_of(&[&path_str(&epoch)]);
    assert!(page.contains("no real time span: 1 of the packets&#39; timestamps are impossible (1 dated 1970-01-01 (zero))"), "{}", &page[page.find("<dt>Traffic").unwrap()..][..400]);
    assert!(!page.contains("; from 1970"));
}
