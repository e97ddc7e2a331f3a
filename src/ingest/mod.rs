//! Ingest: reading inputs into one flow table, with all the threading of
//! the pipeline.
//!
//! A walk reads a capture a chunk at a time into a small buffer that stays
//! in cache, steps from record to record and decodes each packet into a
//! flow table as it goes: one pass over the bytes, no copy kept, nothing
//! allocated per packet.
//!
//! A plain file is cut into one segment per thread, walked at once with
//! positional reads. A segment after the first cannot know where its first
//! record starts nor the walker's state there (pcapng interfaces) without
//! the bytes before it, so it guesses: the first position where a chain of
//! plausible headers starts, in the state the walk has at the first packet
//! of the file. Each guess is then checked against where the walk of the
//! segment before really ended, in which state; a wrong guess is walked
//! again from the true position. Segment tables are absorbed in file order
//! (set aside, and joined on every core at the end, while no limit can
//! bite), which gives exactly the table of one walk from the start, limits
//! included (see [`FlowTable`]). A thread whose segment is done takes the
//! second half of what is left of the segment with the most left, while a
//! few MB are left ([`MIN_SPLIT_BYTES`]), up to twice the segments the file
//! was cut into: a capture whose flows crowd one part of it keeps every
//! thread busy to the end. The tables read ahead share the limits: a
//! segment that would track more than the others leave stops, and the file
//! is walked again as one segment, within the limits: memory stays bounded
//! by the limits, results by the capture alone. Streams (stdin, gzip,
//! pipes) are walked once, from the start, while a thread of their own
//! reads or inflates ahead.
//!
//! Files run in parallel too, a wave of as many as there are threads at a
//! time, and are absorbed in the order they were named: the limits bound
//! the run, and memory holds one wave. Results depend neither on threads
//! nor on where anything was cut.
//!
//! Files: [`read`] (the entry points: a capture input, a stream, bytes in
//! memory), [`window`] (where bytes come from: positional reads of a file,
//! a stream read ahead), [`walk`] (records walked into a table through a
//! [`feed`]), [`segments`] (a plain file read in parallel), [`stream`],
//! [`live`] (a live capture's growing table), [`file_stats`] (what one
//! input showed), [`records`] (flow records: Zeek conn.log, Suricata EVE,
//! told from captures by their first bytes in [`read`]).
//!
//! Every input becomes a [`FlowSource`]: something that reads itself into
//! a flow table and says what it saw. Captures yield packets (walked and
//! decoded here); flow-record files yield flows, each record added to the
//! same kind of table, so that both mix in one run.

mod feed;
mod file_stats;
mod live;
mod read;
pub mod records;
mod segments;
mod skip;
mod stream;
mod walk;
mod window;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use rayon::prelude::*;

use crate::capture::{CaptureInput, Timestamp};
use crate::decode::TunnelMode;
use crate::filter::PacketFilter;
use crate::flow::{FlowTable, Inputs, Limits, Overflow};

pub use file_stats::{CarriedInput, FileStats, TimeFacts};
pub use live::LiveIngest;
pub use read::{ingest_bytes, ingest_one, ingest_reader, ingest_reader_with};
pub use skip::Skip;

/// Bytes read at a time: small enough that a chunk is still in cache when
/// it is walked.
pub const CHUNK_BYTES: usize = 256 << 10;
/// A plain file is cut into segments of at least this size, one per thread.
pub const MIN_SEGMENT_BYTES: u64 = 16 << 20;
/// A thread whose segment is done splits another that has at least this
/// much left (a few milliseconds of walking).
pub const MIN_SPLIT_BYTES: u64 = 8 << 20;

/// How reading is bounded and judged; the same for every input of a run.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub limits: Limits,
    /// Timestamps after this are counted as in the future.
    pub future_after: Option<Timestamp>,
    /// Bytes read at a time ([`CHUNK_BYTES`]); tests make it tiny to put
    /// chunk boundaries everywhere, which must change nothing.
    pub chunk_bytes: usize,
    /// Segments a plain file is cut into. `None`: one per thread of the
    /// pool, each at least [`MIN_SEGMENT_BYTES`]. Tests set it to put
    /// segment boundaries everywhere, which must change nothing.
    pub segments: Option<usize>,
    /// A segment with this much left is split for a thread out of work
    /// ([`MIN_SPLIT_BYTES`]). Tests make it tiny to split everywhere,
    /// which must change nothing.
    pub split_bytes: u64,
    /// Counts bytes and packets as they are walked, for a progress line.
    pub progress: Option<Arc<Progress>>,
    /// `--filter`: packets it rejects are counted, not decoded.
    pub filter: Option<Arc<PacketFilter>>,
    /// `--tunnels`: which flows a tunnelled packet counts in.
    pub tunnels: TunnelMode,
    /// The run's table once it is full: files read then track only the
    /// flows it holds (set by [`ingest`], wave by wave).
    pub frozen: Option<Arc<FlowTable>>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            limits: Limits::default(),
            future_after: None,
            chunk_bytes: CHUNK_BYTES,
            segments: None,
            split_bytes: MIN_SPLIT_BYTES,
            progress: None,
            filter: None,
            tunnels: TunnelMode::default(),
            frozen: None,
        }
    }
}

/// Input bytes and packets walked so far, by every walk of the run; added
/// to a chunk at a time, so reading it costs the walks nothing.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: AtomicU64,
    pub packets: AtomicU64,
}

/// An input that reads itself into a flow table of its own and says what
/// it saw. [`ingest`] reads any number of them at once and absorbs their
/// tables in the order given.
pub trait FlowSource: Sync {
    /// Reads the whole input within `opts`.
    fn read_flows(&self, opts: &IngestOptions) -> (FlowTable, FileStats);
}

impl FlowSource for CaptureInput {
    fn read_flows(&self, opts: &IngestOptions) -> (FlowTable, FileStats) {
        ingest_one(self, opts)
    }
}

/// Everything read from the inputs.
pub struct Ingested {
    /// The flows, their origins naming the inputs in the order read
    /// ([`FlowTable::inputs`]).
    pub table: FlowTable,
    pub files: Vec<FileStats>,
    /// What the inputs (and those behind flow files) taught of RPC
    /// services, one bounded store for the run: taken out of each input's
    /// statistics as it is absorbed, so that memory does not grow with
    /// the number of inputs.
    pub rpc: crate::rpc::Learned,
}

/// Packets `--filter` kept out of the audit, over all files (and the
/// inputs behind flow files, when their flows were made).
pub fn filtered_out(files: &[FileStats]) -> u64 {
    files
        .iter()
        .map(|f| f.filtered() + f.carried.iter().map(|c| c.filtered).sum::<u64>())
        .sum()
}

/// Why traffic the captures saw may not be in the audit, in words for a
/// missing-expected finding: packets `--filter` left out, flow exports
/// that sample packets (their absence proves nothing).
pub fn left_out(files: &[FileStats]) -> Option<String> {
    let mut why = Vec::new();
    let filtered = filtered_out(files);
    if filtered > 0 {
        why.push(format!(
            "{filtered} packets did not match --filter and were not audited: they may hold it"
        ));
    }
    let carried = files.iter().flat_map(|f| &f.carried);
    let sampled: Vec<(&str, u32)> = files
        .iter()
        .filter_map(|f| Some((f.name.as_str(), f.sampling?)))
        .chain(carried.filter_map(|c| Some((c.name.as_str(), c.sampling?))))
        .collect();
    if let Some(&(name, n)) = sampled.iter().max_by_key(|(_, n)| *n) {
        let others = match sampled.len() - 1 {
            0 => String::new(),
            k => format!(" and {k} more"),
        };
        why.push(format!(
            "inconclusive (sampled 1:{n}): {name}{others} exported 1 packet in {n}, \
             so a flow may be missing from the records without missing from the network"
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// What the limits kept out, over all files.
pub fn kept_out(files: &[FileStats]) -> Overflow {
    let mut o = Overflow::default();
    for f in files {
        o.add(&f.overflow);
    }
    o
}

/// Reads every input. Runs on the current rayon pool.
///
/// Inputs are read a wave at a time, as many at once as the pool has
/// threads, and absorbed in the order given as each wave ends: the limits
/// bound the run, not each input, and memory holds the run's table and one
/// wave's, whatever the number of inputs.
pub fn ingest<S: FlowSource>(inputs: &[S], opts: &IngestOptions) -> Ingested {
    let wave = rayon::current_num_threads().max(1);
    let mut table = FlowTable::new();
    let mut files = Vec::with_capacity(inputs.len());
    // The inputs flows' origins name, in the order absorbed: each input's
    // own list (itself, or what a flow file's flows came from) is taken
    // into it, and its flows renumbered, before its table is absorbed.
    let mut named = Inputs::new();
    let mut rpc = crate::rpc::Learned::default();
    for chunk in inputs.chunks(wave) {
        // Once the run's table is full it tracks no new flow: the files of
        // the wave are read against it, so that they hold only flows it
        // has (what absorbing them would keep is the same), and memory
        // stays that of one table whatever the number of files.
        let parts: Vec<(FlowTable, FileStats)> = if table.full(&opts.limits) {
            let frozen = Arc::new(std::mem::take(&mut table));
            let within = IngestOptions {
                frozen: Some(Arc::clone(&frozen)),
                ..opts.clone()
            };
            let parts = chunk
                .par_iter()
                .map(|input| input.read_flows(&within))
                .collect();
            drop(within);
            // Every reader's table let go of it when it became a FlowTable.
            table = Arc::try_unwrap(frozen)
                .expect("no table read against the run's table outlives its wave");
            parts
        } else {
            chunk
                .par_iter()
                .map(|input| input.read_flows(opts))
                .collect()
        };
        for (mut t, mut f) in parts {
            let own = t
                .take_inputs()
                .unwrap_or_else(|| Inputs::of([f.as_input()]));
            if let Some(map) = named.take(&own) {
                t.renumber_inputs(&map);
            }
            let before = f.packets_decoded;
            table.absorb(t, &opts.limits);
            let o = table.take_overflow();
            // A record file counts records, not packets: what absorbing
            // keeps out of it is in the run's overflow, in packets.
            if f.records.is_none() {
                f.unuse(Skip::FlowLimit, o.packets.min(before));
            }
            f.overflow.add(&o);
            rpc.merge(std::mem::take(&mut f.rpc));
            for c in &mut f.carried {
                rpc.merge(crate::rpc::Learned::from_stored(&std::mem::take(
                    &mut c.rpc,
                )));
            }
            files.push(f);
        }
    }
    table.set_inputs(named);
    Ingested { table, files, rpc }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portaudit_synth::PcapWriter;
    use std::io;

    /// Steps back in time are counted across chunk and segment boundaries
    /// exactly as within them.
    #[test]
    fn odd_timestamps_are_counted_across_segments() {
        let frame = [0u8; 100];
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let n: u64 = 250_000; // 29 MB: many chunks
        for i in 0..n {
            // Every packet but the first steps back; a few are zero, a few
            // are far ahead.
            let ts = match i {
                0 => 0,
                1 => 4_000_000_000 * 1_000_000_000,
                _ => (n - i) * 1_000_000,
            };
            w.record(ts, &frame).unwrap();
        }
        let bytes = w.finish().unwrap();
        let opts = IngestOptions {
            future_after: Some(Timestamp(3_000_000_000 * 1_000_000_000)),
            ..IngestOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.pcap");
        std::fs::write(&path, &bytes).unwrap();
        let (_, streamed) = ingest_reader_with("odd", Box::new(io::Cursor::new(bytes)), &opts);
        let cut = IngestOptions {
            segments: Some(7),
            ..opts
        };
        let (_, segmented) = ingest_one(&CaptureInput::File(path), &cut);
        for stats in [streamed, segmented] {
            assert_eq!(stats.packets_read, n);
            assert_eq!(
                stats.times,
                TimeFacts {
                    out_of_order: n - 2,
                    zero: 1,
                    future: 1,
                }
            );
            assert_eq!(stats.first_ts, Some(Timestamp(0)));
        }
    }
}
