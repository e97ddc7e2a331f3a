//! The progress line on stderr while captures are read: bytes read of the
//! total, packets and their rate. Shown only to a person at a terminal
//! (the caller decides), only for runs longer than half a second, and
//! wiped before the summary is printed.

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::capture::{CaptureInput, Container};

use crate::ingest::Progress;

/// Runs shorter than this show no progress at all.
const QUIET_START: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(200);

/// Bytes the inputs hold, when every input is a plain file; `None` when
/// one is stdin or compressed (its inflated bytes have no known total).
pub fn total_bytes(inputs: &[CaptureInput]) -> Option<u64> {
    let mut total = 0;
    for i in inputs {
        let CaptureInput::File(p) = i else {
            return None;
        };
        let mut magic = [0u8; 2];
        let mut f = std::fs::File::open(p).ok()?;
        if f.read_exact(&mut magic).is_ok() && Container::sniff(&magic) == Some(Container::Gzip) {
            return None;
        }
        total += f.metadata().ok()?.len();
    }
    Some(total)
}

/// A running progress line; [`ProgressLine::finish`] wipes it.
pub struct ProgressLine {
    done: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressLine {
    /// Starts drawing `counts` on stderr every 200 ms.
    pub fn start(counts: Arc<Progress>, total: Option<u64>) -> ProgressLine {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("portaudit-progress".into())
            .spawn(move || {
                let start = Instant::now();
                let mut drawn = false;
                while !flag.load(Ordering::Acquire) {
                    std::thread::park_timeout(TICK);
                    let elapsed = start.elapsed();
                    if elapsed < QUIET_START || flag.load(Ordering::Acquire) {
                        continue;
                    }
                    let line = render(
                        counts.bytes.load(Ordering::Relaxed),
                        counts.packets.load(Ordering::Relaxed),
                        total,
                        elapsed,
                    );
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\r{line}\x1b[K");
                    let _ = err.flush();
                    drawn = true;
                }
                if drawn {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\r\x1b[K");
                    let _ = err.flush();
                }
            })
            .ok();
        ProgressLine { done, thread }
    }

    /// Stops drawing and wipes the line.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `n` in the largest of `units` (scale, suffix) it reaches: one decimal
/// below 100, none above.
fn scaled(n: f64, units: &[(f64, &str)]) -> String {
    let (scale, unit) = units
        .iter()
        .find(|(scale, _)| n >= *scale)
        .copied()
        .unwrap_or((1.0, ""));
    let v = n / scale;
    if v < 100.0 && scale > 1.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.0}{unit}")
    }
}

/// `2.0 TB`, `1.5 GB`, `320 MB`, `12 kB`, `512 B` (decimal units).
fn bytes_text(n: u64) -> String {
    const UNITS: [(f64, &str); 5] = [
        (1e12, " TB"),
        (1e9, " GB"),
        (1e6, " MB"),
        (1e3, " kB"),
        (1.0, " B"),
    ];
    scaled(n as f64, &UNITS)
}

/// `1.2 G`, `3.2 M`, `45 k`, `900`.
fn count_text(n: f64) -> String {
    scaled(n, &[(1e9, " G"), (1e6, " M"), (1e3, " k")])
}

/// One progress line, at most 79 columns.
fn render(bytes: u64, packets: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = format!(
        "{} packets  {}/s  {}/s",
        count_text(packets as f64),
        count_text(packets as f64 / secs),
        bytes_text((bytes as f64 / secs) as u64)
    );
    match total {
        Some(total) if total > 0 => {
            let share = (bytes as f64 / total as f64).min(1.0);
            const WIDTH: usize = 12;
            let filled = (share * WIDTH as f64) as usize;
            format!(
                "[{}{}] {:>3.0}%  {} of {}  {rate}",
                "#".repeat(filled),
                "-".repeat(WIDTH - filled),
                share * 100.0,
                bytes_text(bytes.min(total)),
                bytes_text(total)
            )
        }
        _ => format!("reading: {}  {rate}", bytes_text(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_how_far_and_how_fast() {
        assert_eq!(
            render(
                500_000_000,
                1_500_000,
                Some(2_000_000_000),
                Duration::from_secs(2)
            ),
            "[###---------]  25%  500 MB of 2.0 GB  1.5 M packets  750 k/s  250 MB/s"
        );
        assert_eq!(
            render(12_345, 10, None, Duration::from_secs(1)),
            "reading: 12.3 kB  10 packets  10/s  12.3 kB/s"
        );
        // Walks that redo a wrongly guessed segment may count past the end.
        assert!(render(3, 1, Some(2), Duration::from_secs(1)).contains("100%  2 B of 2 B"));
    }

    #[test]
    fn lines_fit_a_terminal() {
        // The widest numbers: huge counts, and rates over the shortest run
        // that shows a line.
        let line = render(
            999_999_999_999_999,
            999_999_999_999,
            Some(1_000_000_000_000_000),
            QUIET_START,
        );
        assert!(line.chars().count() < 80, "{line}");
    }
}
