//! A stream (stdin, gzip) read front to back in one walk.

use std::io::Read;

use super::feed::Tally;
use super::walk::{open_walk, walk, Stop};
use super::window::{Source, Streamed, Window};
use super::{FileStats, IngestOptions, CHUNK_BYTES};
use crate::capture::{Damage, DamageKind};
use crate::flow::{FlowTable, SequentialTable};

/// Reads a stream front to back, in one walk within the limits.
pub(super) fn read_stream(
    reader: Box<dyn Read + Send>,
    stats: &mut FileStats,
    opts: &IngestOptions,
) -> Option<(FlowTable, Tally)> {
    let source = match Streamed::start(reader, opts.chunk_bytes.max(CHUNK_BYTES)) {
        Ok(s) => s,
        Err(e) => {
            stats.unreadable = Some(format!("cannot start a reading thread: {e}"));
            return None;
        }
    };
    let compressed = stats.compressed;
    let mut win = Window::new(source, 0, opts.chunk_bytes, compressed);
    let (walker, pos) = open_walk(&mut win, stats)?;
    let table = SequentialTable::new(opts.limits).within(opts.frozen.clone());
    let mut w = walk(&mut win, pos, walker, table, &u64::MAX, opts);
    if w.stop == Stop::Damaged && compressed {
        // Corrupt records in a compressed capture are most likely a
        // corrupt stream: read on to say so if the checksum tells.
        let mut offset = win.base + win.len as u64;
        let mut scratch = vec![0; CHUNK_BYTES];
        loop {
            match win.source.fill(&mut scratch) {
                Ok(0) => break,
                Ok(n) => offset += n as u64,
                Err(e) => {
                    w.tally.damage.push(Damage {
                        offset,
                        kind: DamageKind::Unreadable {
                            compressed: true,
                            error: e.to_string(),
                        },
                    });
                    break;
                }
            }
        }
    }
    Some((w.table.into(), w.tally))
}
