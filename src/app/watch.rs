//! `portaudit watch` and `portaudit collect`: live audits.
//!
//! One thread reads the source (an interface's packets, an exporter's
//! datagrams) into the flow table and never waits on reporting. Every
//! interval, if the reporter is idle, it hands over a snapshot of the
//! table; the reporter audits it, replaces the report files whole and
//! prints the summary. The table holds everything since the start, so
//! expected traffic is judged on the whole run so far. Ctrl-C, SIGTERM or
//! `--duration` end the reading; the last snapshot makes the final report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::{
    after_writes, apply_baseline, audit_flows, audit_summary, baseline_of, exit_code, load_catalog,
    pool, verdict, write_reports, AuditSetup, RunError, RunOptions, Writes,
};
use crate::audit::Auditor;
use crate::filter::FilterReport;
use crate::flow::Flows;
use crate::ingest::FileStats;
use crate::report::AuditDoc;
use crate::rules::Deployment;

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

/// What a live audit reads: it fills its own flow table as things come.
pub(crate) trait LiveSource {
    /// What messages call it: `eth0`, `udp/0.0.0.0:4739`.
    fn label(&self) -> String;
    /// What is read, and how, for the first line: `capturing on eth0
    /// (link type EN10MB)`.
    fn describe(&self) -> String;
    /// Reads what has come, or waits a moment (at most a tenth of a
    /// second, so that signals and the clock are heeded) when nothing has.
    /// An error ends the reading; the source keeps why, for its counts.
    fn pump(&mut self) -> Result<(), ()>;
    /// Reads what is already buffered (a second's worth at most, should
    /// it keep coming), so that the final report holds everything that
    /// came before the end.
    fn drain(&mut self);
    /// A copy of the flows so far and the counts; the table keeps growing.
    fn snapshot(&mut self) -> (Flows, FileStats);
}

/// How a live audit runs, whatever it reads.
pub(crate) struct LiveRun<'a> {
    /// `watch` or `collect`, for messages.
    pub command: &'static str,
    pub setup: &'a AuditSetup,
    pub run: &'a RunOptions,
    pub interval: Duration,
    pub duration: Option<Duration>,
    /// A filter the source ran, named in reports.
    pub filter: Option<&'a str>,
}

/// How long the source is drained at the end, at most, before the final
/// report.
pub(crate) const DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// The table as it was at one moment, for the reporter.
struct Snapshot {
    flows: Flows,
    stats: FileStats,
    elapsed: Duration,
    /// `Some(why)` for the final report.
    last: Option<End>,
}

/// Why reading ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    Duration,
    /// The reporter panicked.
    ReporterStopped,
    ReadFailed,
}

impl End {
    fn says(self, command: &str) -> &'static str {
        match self {
            End::Interrupted => "interrupted",
            End::Duration => "--duration reached",
            End::ReporterStopped => "the reporter stopped",
            End::ReadFailed if command == "watch" => "the capture failed",
            End::ReadFailed => "receiving failed",
        }
    }
}

/// Runs a live audit of `source`; returns the exit status of the final
/// report.
pub(crate) fn run_live(live: &LiveRun<'_>, source: &mut dyn LiveSource) -> Result<i32, RunError> {
    let (cfg, command) = (live.setup, live.command);
    let catalog = load_catalog(&cfg.rules_dirs).map_err(RunError::Rules)?;
    let deployment = Deployment::load(&cfg.deployment, &catalog).map_err(RunError::Rules)?;
    let pool = pool(live.run.threads)?;
    // A report that cannot be written is found now, not an interval on.
    cfg.reports.check_writable()?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal quits at once, with 128 + the signal's number
        // (the conditional shutdown must be registered first).
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(RunError::Io)?;
    }
    let label = source.label();
    if !live.run.quiet {
        eprintln!(
            "{command}: {}{}; a report every {}, {}",
            source.describe(),
            live.filter
                .map(|f| format!(", filter {f:?}"))
                .unwrap_or_default(),
            human(live.interval),
            match live.duration {
                Some(d) => format!("for {}", human(d)),
                None => "until Ctrl-C".to_string(),
            }
        );
    }
    // The source ran the filter: reports only name it.
    let filter_report = live.filter.map(FilterReport::named);
    let filtered = live.filter.map(|f| {
        format!("--filter {f:?} kept what it rejects out of the capture: that may hold it")
    });
    let baseline = cfg.read_baseline()?;
    let baseline_file = cfg.baseline.as_ref().map(|p| p.display().to_string());
    let idle = AtomicBool::new(true);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Snapshot>(1);
        let reporter = scope.spawn(|| -> Result<i32, RunError> {
            let mut code = exit_code::CLEAN;
            for (n, snap) in rx.into_iter().enumerate() {
                let files = [snap.stats];
                let auditor = Auditor::new(&deployment)
                    .max_findings(cfg.max_findings)
                    .knowing(std::sync::Arc::new(crate::rpc::Knowledge::of(
                        files[0].rpc.clone(),
                    )));
                // What may hold an expected flow that was not seen: what
                // the filter rejected, what a sampling exporter skipped.
                let left_out = [filtered.clone(), crate::ingest::left_out(&files)];
                let left_out = left_out.into_iter().flatten().collect::<Vec<_>>();
                let left_out = (!left_out.is_empty()).then(|| left_out.join("; "));
                let mut report = audit_flows(
                    &auditor,
                    snap.flows,
                    &files,
                    left_out.as_deref(),
                    &cfg.reports,
                    &live.run.ingest.limits,
                    &pool,
                );
                let absent = baseline
                    .as_deref()
                    .map(|rows| apply_baseline(&mut report.findings, rows));
                let summary = audit_summary(
                    &report,
                    &files,
                    &[],
                    cfg,
                    filter_report.as_ref(),
                    baseline_of(cfg, baseline_file.as_deref(), absent.as_deref()),
                );
                let doc = AuditDoc {
                    deployment: &deployment,
                    deployment_file: cfg.deployment.display().to_string(),
                    run: &summary,
                };
                // An interval report that cannot be written is said, and
                // the audit goes on; the final one must be written.
                let writes = match snap.last {
                    Some(_) => Writes::Final,
                    None => Writes::Interval,
                };
                let failed = pool.install(|| write_reports(&cfg.reports, &report, &doc, writes));
                let mut final_failed = Vec::new();
                for e in failed {
                    if snap.last.is_none() {
                        eprintln!(
                            "warning: {command}: {label}: report {} not written: {e}",
                            n + 1
                        );
                    } else {
                        final_failed.push(e);
                    }
                }
                if !live.run.quiet {
                    let when = match snap.last {
                        Some(why) => format!("final report ({})", why.says(command)),
                        None => format!("report {}", n + 1),
                    };
                    eprintln!(
                        "\n{command}: {label}: {when} after {}: {} findings",
                        human(snap.elapsed),
                        report.findings.len()
                    );
                    eprint!(
                        "{}",
                        summary.to_text_grouped(live.run.color, live.run.terminal)
                    );
                }
                code = after_writes(final_failed, verdict(&summary, live.run.quiet));
                idle.store(true, Ordering::Release);
            }
            Ok(code)
        });
        let start = Instant::now();
        let mut next_report = start + live.interval;
        let why = loop {
            if stop.load(Ordering::Relaxed) {
                break End::Interrupted;
            }
            let now = Instant::now();
            if live.duration.is_some_and(|d| now - start >= d) {
                break End::Duration;
            }
            if reporter.is_finished() {
                // It only ends early by panicking, which joining passes on.
                break End::ReporterStopped;
            }
            if now >= next_report {
                // A report is skipped while the one before is still being
                // written: reading never waits.
                if idle.swap(false, Ordering::AcqRel) {
                    let (flows, stats) = source.snapshot();
                    let snap = Snapshot {
                        flows,
                        stats,
                        elapsed: now - start,
                        last: None,
                    };
                    if tx.try_send(snap).is_err() {
                        idle.store(true, Ordering::Release);
                    }
                } else if !live.run.quiet {
                    eprintln!(
                        "{command}: {label}: report skipped at {}: the one before is still being written",
                        human(now - start)
                    );
                }
                while next_report <= now {
                    next_report += live.interval;
                }
            }
            if source.pump().is_err() {
                break End::ReadFailed;
            }
        };
        if why != End::ReadFailed {
            source.drain();
        }
        let (flows, stats) = source.snapshot();
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
pub use capture::run_watch;

#[cfg(feature = "libpcap")]
mod capture {
    use std::time::Instant;

    use super::{run_live, LiveRun, LiveSource, WatchConfig, DRAIN_LIMIT};
    use crate::app::RunError;
    use crate::capture::{LinkType, LiveCapture};
    use crate::flow::Flows;
    use crate::ingest::{FileStats, LiveIngest};

    /// An interface's packets.
    struct Interface {
        cap: LiveCapture,
        live: LiveIngest,
        link: LinkType,
    }

    impl LiveSource for Interface {
        fn label(&self) -> String {
            self.cap.interface().to_string()
        }

        fn describe(&self) -> String {
            format!(
                "capturing on {} (link type {})",
                self.cap.interface(),
                self.link.name()
            )
        }

        fn pump(&mut self) -> Result<(), ()> {
            let waiting = match self.cap.next_packet() {
                Ok(Some(p)) => {
                    self.live.packet(self.link, p.data, p.orig_len, p.ts);
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    self.live.stopped(&e.to_string());
                    return Err(());
                }
            };
            if waiting {
                if let Err(e) = self.cap.wait() {
                    self.live.stopped(&e.to_string());
                    return Err(());
                }
            }
            Ok(())
        }

        fn drain(&mut self) {
            let deadline = Instant::now() + DRAIN_LIMIT;
            while Instant::now() < deadline {
                match self.cap.next_packet() {
                    Ok(Some(p)) => self.live.packet(self.link, p.data, p.orig_len, p.ts),
                    _ => break,
                }
            }
        }

        fn snapshot(&mut self) -> (Flows, FileStats) {
            let (flows, mut stats) = self.live.snapshot();
            stats.live = self.cap.counts();
            (flows, stats)
        }
    }

    /// Runs a live audit of an interface; returns the exit status of the
    /// final report.
    pub fn run_watch(cfg: &WatchConfig) -> Result<i32, RunError> {
        let cap = LiveCapture::open(&cfg.interface, cfg.filter.as_deref())
            .map_err(|e| RunError::Capture(e.to_string()))?;
        let name = format!("live:{}", cap.interface());
        let link = cap.link();
        let mut source = Interface {
            live: LiveIngest::new(&name, &cfg.run.ingest),
            cap,
            link,
        };
        let live = LiveRun {
            command: "watch",
            setup: &cfg.setup,
            run: &cfg.run,
            interval: cfg.interval,
            duration: cfg.duration,
            filter: cfg.filter.as_deref(),
        };
        run_live(&live, &mut source)
    }
}

/// A duration as people write it: `1h30m`, `45s`, `500ms`.
pub(crate) fn human(d: Duration) -> String {
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
