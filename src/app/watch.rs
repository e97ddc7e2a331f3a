//! `portaudit watch`: a live audit of one interface.
//!
//! One thread captures into the flow table and never waits on reporting.
//! Every interval, if the reporter is idle, it hands over a snapshot of
//! the table; the reporter audits it, replaces the report files whole and
//! prints the summary. The table holds everything since the start, so
//! expected traffic is judged on the whole run so far. Ctrl-C, SIGTERM or
//! `--duration` end the capture; the last snapshot makes the final report.

use std::time::Duration;

#[cfg(not(feature = "libpcap"))]
use super::RunError;
use super::{AuditSetup, RunOptions};

/// `portaudit watch`, validated.
pub struct WatchConfig {
    pub setup: AuditSetup,
    /// Limits and time judgement (a filter in `run.ingest` is ignored:
    /// `filter` runs in the kernel).
    pub run: RunOptions,
    pub interface: String,
    /// tcpdump's syntax, run in the kernel.
    pub filter: Option<String>,
    pub interval: Duration,
    /// `None`: until Ctrl-C or SIGTERM.
    pub duration: Option<Duration>,
}

/// What the library cannot do without libpcap, and how to get it.
#[cfg(not(feature = "libpcap"))]
pub(crate) fn needs_libpcap(what: &str) -> RunError {
    RunError::Usage(format!(
        "{what} needs portaudit built with libpcap: install libpcap's headers \
         (Debian, Ubuntu: apt-get install libpcap-dev) and build with \
         `cargo build --release --features libpcap`"
    ))
}

#[cfg(not(feature = "libpcap"))]
pub fn run_watch(_cfg: &WatchConfig) -> Result<i32, RunError> {
    Err(needs_libpcap("`portaudit watch` (live capture)"))
}

#[cfg(feature = "libpcap")]
pub use live::run_watch;

#[cfg(feature = "libpcap")]
mod live {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    use super::WatchConfig;
    use crate::app::{
        after_writes, apply_baseline, audit_flows, audit_summary, baseline_of, exit_code,
        load_catalog, pool, verdict, write_reports, RunError, Writes,
    };
    use crate::audit::Auditor;
    use crate::capture::LinkType;
    use crate::capture::LiveCapture;
    use crate::filter::FilterReport;
    use crate::flow::Flows;
    use crate::ingest::{FileStats, LiveIngest};
    use crate::report::AuditDoc;
    use crate::rules::Deployment;

    /// How long packets already in the kernel's buffer are read at the
    /// end, at most, before the final report.
    const DRAIN_LIMIT: Duration = Duration::from_secs(1);

    /// The table as it was at one moment, for the reporter.
    struct Snapshot {
        flows: Flows,
        stats: FileStats,
        elapsed: Duration,
        /// `Some(why)` for the final report.
        last: Option<End>,
    }

    /// Why capturing ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum End {
        /// Ctrl-C or SIGTERM.
        Interrupted,
        Duration,
        /// The reporter panicked.
        ReporterStopped,
        CaptureFailed,
    }

    impl std::fmt::Display for End {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(match self {
                End::Interrupted => "interrupted",
                End::Duration => "--duration reached",
                End::ReporterStopped => "the reporter stopped",
                End::CaptureFailed => "the capture failed",
            })
        }
    }

    /// Runs a live audit; returns the exit status of the final report.
    pub fn run_watch(cfg: &WatchConfig) -> Result<i32, RunError> {
        let catalog = load_catalog(&cfg.setup.rules_dirs).map_err(RunError::Rules)?;
        let deployment =
            Deployment::load(&cfg.setup.deployment, &catalog).map_err(RunError::Rules)?;
        let pool = pool(cfg.run.threads)?;
        // A report that cannot be written is found now, not an interval on.
        cfg.setup.reports.check_writable()?;
        let mut cap = LiveCapture::open(&cfg.interface, cfg.filter.as_deref())
            .map_err(|e| RunError::Capture(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // A second signal quits at once, with 128 + the signal's number
            // (the conditional shutdown must be registered first).
            signal_hook::flag::register_conditional_shutdown(
                signal,
                128 + signal,
                Arc::clone(&stop),
            )
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(RunError::Io)?;
        }
        if !cfg.run.quiet {
            eprintln!(
                "watch: capturing on {} (link type {}){}; a report every {}, {}",
                cap.interface(),
                cap.link().name(),
                cfg.filter
                    .as_deref()
                    .map(|f| format!(", filter {f:?}"))
                    .unwrap_or_default(),
                human(cfg.interval),
                match cfg.duration {
                    Some(d) => format!("for {}", human(d)),
                    None => "until Ctrl-C".to_string(),
                }
            );
        }
        // The kernel runs the filter: reports only name it.
        let filter_report = cfg.filter.as_deref().map(FilterReport::named);
        let left_out = cfg.filter.as_ref().map(|f| {
            format!("--filter {f:?} kept what it rejects out of the capture: that may hold it")
        });
        let baseline = cfg.setup.read_baseline()?;
        let baseline_file = cfg.setup.baseline.as_ref().map(|p| p.display().to_string());
        let name = format!("live:{}", cap.interface());
        let mut live = LiveIngest::new(&name, &cfg.run.ingest);
        let idle = AtomicBool::new(true);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel::<Snapshot>(1);
            let reporter = scope.spawn(|| -> Result<i32, RunError> {
                let auditor = Auditor::new(&deployment).max_findings(cfg.setup.max_findings);
                let mut code = exit_code::CLEAN;
                for (n, snap) in rx.into_iter().enumerate() {
                    let files = [snap.stats];
                    let mut report = audit_flows(
                        &auditor,
                        snap.flows,
                        &files,
                        left_out.as_deref(),
                        &cfg.setup.reports,
                        &cfg.run.ingest.limits,
                        &pool,
                    );
                    let absent = baseline
                        .as_deref()
                        .map(|rows| apply_baseline(&mut report.findings, rows));
                    let summary = audit_summary(
                        &report,
                        &files,
                        &[],
                        &cfg.setup,
                        filter_report.as_ref(),
                        baseline_of(&cfg.setup, baseline_file.as_deref(), absent.as_deref()),
                    );
                    let doc = AuditDoc {
                        deployment: &deployment,
                        deployment_file: cfg.setup.deployment.display().to_string(),
                        run: &summary,
                    };
                    // An interval report that cannot be written is said,
                    // and the watch goes on; the final one must be written.
                    let writes = match snap.last {
                        Some(_) => Writes::Final,
                        None => Writes::Interval,
                    };
                    let failed =
                        pool.install(|| write_reports(&cfg.setup.reports, &report, &doc, writes));
                    let mut final_failed = Vec::new();
                    for e in failed {
                        if snap.last.is_none() {
                            eprintln!(
                                "warning: watch: {}: report {} not written: {e}",
                                cfg.interface,
                                n + 1
                            );
                        } else {
                            final_failed.push(e);
                        }
                    }
                    if !cfg.run.quiet {
                        let when = match snap.last {
                            Some(why) => format!("final report ({why})"),
                            None => format!("report {}", n + 1),
                        };
                        eprintln!(
                            "\nwatch: {}: {when} after {}: {} findings",
                            cfg.interface,
                            human(snap.elapsed),
                            report.findings.len()
                        );
                        eprint!(
                            "{}",
                            summary.to_text_grouped(cfg.run.color, cfg.run.terminal)
                        );
                    }
                    code = after_writes(final_failed, verdict(&summary, cfg.run.quiet));
                    idle.store(true, Ordering::Release);
                }
                Ok(code)
            });
            let link = cap.link();
            let start = Instant::now();
            let mut next_report = start + cfg.interval;
            let why = loop {
                if stop.load(Ordering::Relaxed) {
                    break End::Interrupted;
                }
                let now = Instant::now();
                if cfg.duration.is_some_and(|d| now - start >= d) {
                    break End::Duration;
                }
                if reporter.is_finished() {
                    // It only ends early by panicking, which joining
                    // passes on.
                    break End::ReporterStopped;
                }
                if now >= next_report {
                    // A report is skipped while the one before is still
                    // being written: capturing never waits.
                    if idle.swap(false, Ordering::AcqRel) {
                        let (flows, mut stats) = live.snapshot();
                        stats.live = cap.counts();
                        let snap = Snapshot {
                            flows,
                            stats,
                            elapsed: now - start,
                            last: None,
                        };
                        if tx.try_send(snap).is_err() {
                            idle.store(true, Ordering::Release);
                        }
                    } else if !cfg.run.quiet {
                        eprintln!(
                            "watch: {}: report skipped at {}: the one before is still being written",
                            cfg.interface,
                            human(now - start)
                        );
                    }
                    while next_report <= now {
                        next_report += cfg.interval;
                    }
                }
                let waiting = match cap.next_packet() {
                    Ok(Some(p)) => {
                        live.packet(link, p.data, p.orig_len, p.ts);
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        live.stopped(&e.to_string());
                        break End::CaptureFailed;
                    }
                };
                if !waiting {
                    if let Err(e) = cap.wait() {
                        live.stopped(&e.to_string());
                        break End::CaptureFailed;
                    }
                }
            };
            if why != End::CaptureFailed {
                drain(&mut cap, &mut live, link);
            }
            let (flows, mut stats) = live.snapshot();
            stats.live = cap.counts();
            let last = Snapshot {
                flows,
                stats,
                elapsed: start.elapsed(),
                last: Some(why),
            };
            // The reporter takes it once the report before is written.
            let _ = tx.send(last);
            drop(tx);
            match reporter.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Reads what is already in the kernel's buffer (a second's worth at
    /// most, should it keep coming), so that the final report holds every
    /// packet captured before the end.
    fn drain(cap: &mut LiveCapture, live: &mut LiveIngest, link: LinkType) {
        let deadline = Instant::now() + DRAIN_LIMIT;
        while Instant::now() < deadline {
            match cap.next_packet() {
                Ok(Some(p)) => live.packet(link, p.data, p.orig_len, p.ts),
                _ => break,
            }
        }
    }

    /// A duration as people write it: `1h30m`, `45s`, `500ms`.
    fn human(d: Duration) -> String {
        let ms = d.as_millis();
        if ms % 1000 != 0 && ms < 60_000 {
            return format!("{:.1}s", d.as_secs_f64()).replace(".0s", "s");
        }
        let s = d.as_secs();
        let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
        let mut out = String::new();
        if h > 0 {
            out += &format!("{h}h");
        }
        if m > 0 {
            out += &format!("{m}m");
        }
        if s > 0 || out.is_empty() {
            out += &format!("{s}s");
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn durations_read_as_written() {
            assert_eq!(human(Duration::from_secs(90)), "1m30s");
            assert_eq!(human(Duration::from_secs(3600)), "1h");
            assert_eq!(human(Duration::from_millis(500)), "0.5s");
            assert_eq!(human(Duration::from_millis(1500)), "1.5s");
            assert_eq!(human(Duration::ZERO), "0s");
        }
    }
}
