//! `portaudit collect`: a live audit of the IPFIX and NetFlow v5/v7/v9
//! exports that routers and probes send to a UDP port, run exactly as
//! `watch` runs (src/app/watch.rs).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::watch::{run_live, LiveRun, LiveSource, DRAIN_LIMIT};
use super::{AuditSetup, RunError, RunOptions};
use crate::flow::Flows;
use crate::ingest::records::Collector;
use crate::ingest::FileStats;

/// `portaudit collect`, validated.
pub struct CollectConfig {
    pub setup: AuditSetup,
    pub run: RunOptions,
    /// Where exporters send: `0.0.0.0:4739`, `[::]:2055`.
    pub listen: SocketAddr,
    pub interval: Duration,
    /// `None`: until Ctrl-C or SIGTERM.
    pub duration: Option<Duration>,
}

/// How long a receive waits for a datagram, so that signals and the clock
/// are heeded.
const WAIT: Duration = Duration::from_millis(100);

/// The exports arriving at one UDP socket.
struct Exports {
    socket: UdpSocket,
    /// The address bound (the port the system chose, for port 0).
    local: SocketAddr,
    collector: Collector,
    /// One datagram: the largest UDP payload.
    buf: Vec<u8>,
    failed: Option<String>,
}

impl Exports {
    /// Reads one datagram, waiting at most as the socket's timeout says;
    /// `Ok(false)` when none came.
    fn receive(&mut self) -> io::Result<bool> {
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                self.collector.datagram(from, &self.buf[..n]);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            // A signal: the loop looks at its flag.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl LiveSource for Exports {
    fn label(&self) -> String {
        format!("udp/{}", self.local)
    }

    fn describe(&self) -> String {
        format!("receiving IPFIX and NetFlow v5/v7/v9 on udp/{}", self.local)
    }

    fn pump(&mut self) -> Result<(), ()> {
        match self.receive() {
            Ok(_) => Ok(()),
            Err(e) => {
                self.failed = Some(e.to_string());
                Err(())
            }
        }
    }

    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_LIMIT;
        // What the socket already holds is there at once.
        if self.socket.set_nonblocking(true).is_err() {
            return;
        }
        while Instant::now() < deadline && matches!(self.receive(), Ok(true)) {}
    }

    fn snapshot(&mut self) -> (Flows, FileStats) {
        let (flows, mut stats) = self.collector.snapshot();
        stats.capture_failed = self.failed.clone();
        (flows, stats)
    }
}

/// Runs a live audit of the exports sent to `cfg.listen`; returns the
/// exit status of the final report.
pub fn run_collect(cfg: &CollectConfig) -> Result<i32, RunError> {
    let socket = UdpSocket::bind(cfg.listen)
        .map_err(|e| RunError::Capture(format!("cannot listen on udp/{}: {e}", cfg.listen)))?;
    socket.set_read_timeout(Some(WAIT)).map_err(RunError::Io)?;
    let local = socket.local_addr().map_err(RunError::Io)?;
    let mut source = Exports {
        collector: Collector::new(&format!("udp/{local}"), &cfg.run.ingest),
        socket,
        local,
        buf: vec![0; 65_535],
        failed: None,
    };
    let live = LiveRun {
        command: "collect",
        setup: &cfg.setup,
        run: &cfg.run,
        interval: cfg.interval,
        duration: cfg.duration,
        filter: None,
    };
    run_live(&live, &mut source)
}
