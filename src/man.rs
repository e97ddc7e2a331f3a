//! Man pages from the command-line definitions (clap_mangen), with the
//! EXIT STATUS and EXAMPLES sections a man page is expected to have.

use std::io::{self, Write};

use clap::Command;

/// Exit statuses, by command (`portaudit` itself lists the audit's).
fn exit_statuses(command: &str) -> &'static [(&'static str, &'static str)] {
    const AUDIT: &[(&str, &str)] = &[
        ("0", "no finding at or above --fail-on (default: error); with --baseline, no new one"),
        ("1", "findings at or above --fail-on"),
        ("2", "usage, deployment or rules error, a capture that cannot be read, or a report that cannot be written"),
        ("3", "a capture is damaged (truncated, corrupt record): what could be read was audited and reported, and the damage is named with file and byte offset"),
    ];
    const WATCH: &[(&str, &str)] = &[
        ("0", "no finding at or above --fail-on in the final report"),
        ("1", "findings at or above --fail-on"),
        (
            "2",
            "usage, deployment or rules error, or the capture could not start",
        ),
        (
            "3",
            "the kernel dropped packets, or capturing failed: what was captured was audited",
        ),
        (
            "128+N",
            "a second signal N ended the watch before its final report",
        ),
    ];
    const COLLECT: &[(&str, &str)] = &[
        ("0", "no finding at or above --fail-on in the final report"),
        ("1", "findings at or above --fail-on"),
        (
            "2",
            "usage, deployment or rules error, or the address cannot be bound",
        ),
        (
            "3",
            "records were lost (the exporters' sequence numbers show gaps) or damaged, or receiving failed: what was received was audited",
        ),
        (
            "128+N",
            "a second signal N ended the collection before its final report",
        ),
    ];
    const FLOWS: &[(&str, &str)] = &[
        ("0", "every capture was read whole"),
        ("2", "usage error, or a capture that cannot be read"),
        (
            "3",
            "a capture is damaged: what could be read is in the flows, the damage is named",
        ),
    ];
    const DIFF: &[(&str, &str)] = &[
        ("0", "nothing in NEW that OLD does not have"),
        ("1", "NEW has findings OLD does not"),
        ("2", "a report cannot be read (file and line are named)"),
    ];
    const OTHER: &[(&str, &str)] = &[
        ("0", "done"),
        ("2", "usage error, or a profile or deployment with errors (each named with file:line:column)"),
    ];
    match command {
        "portaudit" | "portaudit-audit" => AUDIT,
        "portaudit-watch" => WATCH,
        "portaudit-collect" => COLLECT,
        "portaudit-flows" => FLOWS,
        "portaudit-diff" => DIFF,
        _ => OTHER,
    }
}

/// Examples, by command: what it does, then the command line.
fn examples(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "portaudit" | "portaudit-audit" => &[
            ("Audit a capture against a deployment; findings as CSV on standard output.", "portaudit audit -d site.toml capture.pcapng"),
            ("Audit a day of rotated captures, with every report CI systems read.", "portaudit audit -d site.toml captures/ --junit audit.xml --sarif audit.sarif --html audit.html -o findings.json --format json"),
            ("Fail only on findings an earlier run did not have.", "portaudit audit -d site.toml capture.pcap --baseline findings.json"),
            ("Audit a compressed capture without unpacking it.", "portaudit audit -d site.toml <(zcat day.pcap.gz)"),
        ],
        "portaudit-flows" => &[
            ("The flow table of a capture, as NDJSON.", "portaudit flows capture.pcap --format ndjson -o flows.ndjson"),
        ],
        "portaudit-watch" => &[
            ("Audit eth0 live, rewriting the reports every minute, for an hour.", "portaudit watch -i eth0 -d site.toml --interval 60s --duration 1h -o findings.csv"),
        ],
        "portaudit-collect" => &[
            ("Audit the IPFIX a router sends to port 4739, a report every five minutes.", "portaudit collect --listen 0.0.0.0:4739 -d site.toml --interval 5m -o findings.csv"),
        ],
        "portaudit-diff" => &[
            ("What changed between yesterday's and today's findings.", "portaudit diff yesterday.json today.json"),
            ("The same, for a script.", "portaudit diff yesterday.csv today.csv --format json"),
        ],
        "portaudit-init" => &[
            ("A deployment skeleton for Binalyze AIR, to fill in.", "portaudit init --profile binalyze-air -o site.toml"),
        ],
        "portaudit-rules" | "portaudit-rules-check" => &[
            ("Check a deployment and a profile of your own.", "portaudit rules check site.toml my-profile.toml"),
        ],
        "portaudit-rules-show" => &[
            ("The port matrix of a shipped profile.", "portaudit rules show juniper-jsa"),
        ],
        "portaudit-completions" => &[
            ("Install the bash completions.", "portaudit completions bash > ~/.local/share/bash-completion/completions/portaudit"),
        ],
        "portaudit-man" => &[
            ("Write a page per command where man finds them.", "portaudit man --dir ~/.local/share/man/man1"),
        ],
        _ => &[],
    }
}

/// Text as roff reads it literally: backslashes and hyphens escaped, a
/// leading dot or quote kept from being read as a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The page of `cmd`, named `name` (`portaudit`, `portaudit-audit`...).
pub fn page(cmd: Command, name: &str) -> io::Result<Vec<u8>> {
    let has_args = cmd.get_arguments().any(|a| !a.is_hide_set());
    let has_subcommands = cmd.get_subcommands().next().is_some();
    let has_version = cmd.get_version().is_some() || cmd.get_long_version().is_some();
    // Prose after the options, unless it only lists exit statuses (said
    // in their own section below).
    let notes = cmd
        .get_after_help()
        .is_some_and(|h| !h.to_string().starts_with("Exit status:"));
    let man = clap_mangen::Man::new(cmd).title(name);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if has_args {
        man.render_options_section(&mut out)?;
    }
    if has_subcommands {
        man.render_subcommands_section(&mut out)?;
    }
    if notes {
        let mut extra = Vec::new();
        man.render_extra_section(&mut extra)?;
        let extra = String::from_utf8_lossy(&extra).replacen(".SH EXTRA", ".SH NOTES", 1);
        out.extend_from_slice(extra.as_bytes());
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in exit_statuses(name) {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(code), roff(meaning))?;
    }
    let examples = examples(name);
    if !examples.is_empty() {
        writeln!(out, ".SH EXAMPLES")?;
        for (what, line) in examples {
            writeln!(
                out,
                ".PP\n{}\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE",
                roff(what),
                roff(line)
            )?;
        }
    }
    if has_version {
        man.render_version_section(&mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_keeps_text_literal() {
        assert_eq!(roff("--fail-on"), "\\-\\-fail\\-on");
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("a\\b"), "a\\eb");
    }
}
