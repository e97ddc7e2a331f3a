//! Reading captures into one flow table: all the threading of the pipeline.
//!
//! Every input is read front to back in chunks by a thread of its own while
//! the previous chunk is decoded. A chunk is walked once, cheaply, to find
//! record boundaries; the stretches between them (batches) are decoded on
//! rayon workers into tables of their own, which are absorbed in capture
//! order into the file's table. So results depend neither on the number of
//! threads nor on where chunks and batches were cut, and memory is bounded
//! by the flows (and [`Limits`]), not by the size of the input. Files run
//! in parallel too, and are absorbed in the order they were named.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read};
use std::sync::mpsc;

use rayon::prelude::*;

use crate::capture::{CaptureInput, Damage, InputSource, RecordSkip, Step, Timestamp, Walker};
use crate::decode::{decode, SkipReason};
use crate::flow::{FlowTable, Limits, Overflow};

/// Bytes of capture per batch handed to a worker. Fixed, like
/// [`CHUNK_BYTES`]: where inputs are cut must not depend on the machine.
const BATCH_BYTES: usize = 1 << 20;
/// Bytes read per chunk; two chunks are in memory at a time.
pub const CHUNK_BYTES: usize = 16 << 20;

/// How reading is bounded and judged; the same for every input of a run.
#[derive(Clone, Copy, Debug)]
pub struct IngestOptions {
    pub limits: Limits,
    /// Timestamps after this are counted as in the future.
    pub future_after: Option<Timestamp>,
    /// Bytes read per chunk ([`CHUNK_BYTES`]); tests make it tiny to put
    /// chunk boundaries everywhere, which must change nothing.
    pub chunk_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            limits: Limits::default(),
            future_after: None,
            chunk_bytes: CHUNK_BYTES,
        }
    }
}

/// What reading one capture showed, for the summary and `--stats`.
#[derive(Clone, Debug, Default)]
pub struct FileStats {
    pub name: String,
    pub format: String,
    pub compressed: bool,
    /// Link types met, by name.
    pub link_types: BTreeSet<String>,
    pub packets_read: u64,
    pub packets_decoded: u64,
    /// Wire bytes (original lengths) of all packets read.
    pub bytes_read: u64,
    /// Packets read but not used, by reason label.
    pub skipped: BTreeMap<String, u64>,
    /// Damage met; the last one may have stopped the read.
    pub damage: Vec<Damage>,
    /// The input could not be read at all (bad header, cannot open).
    pub unreadable: Option<String>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Packets without a timestamp (pcapng simple packet blocks).
    pub untimed_packets: u64,
    pub times: TimeFacts,
    /// What the limits kept out while this file was read and absorbed.
    pub overflow: Overflow,
}

/// Timestamps that are odd but not wrong: every packet is audited anyway,
/// and these counts say how far its times can be trusted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeFacts {
    /// Packets dated earlier than the packet before them in the file.
    pub out_of_order: u64,
    /// Packets dated exactly 1970-01-01T00:00:00Z.
    pub zero: u64,
    /// Packets dated after [`IngestOptions::future_after`].
    pub future: u64,
}

impl FileStats {
    fn named(name: String) -> FileStats {
        FileStats {
            name,
            ..FileStats::default()
        }
    }

    /// Moves packets counted as decoded into a skip reason.
    fn unuse(&mut self, reason: &str, packets: u64) {
        if packets > 0 {
            *self.skipped.entry(reason.to_string()).or_default() += packets;
            self.packets_decoded -= packets;
        }
    }
}

/// Label of packets kept out by `--max-flows`.
pub const FLOW_LIMIT: &str = "flow-limit";

/// Counters of one batch, merged in capture order.
#[derive(Debug, Default)]
struct Tally {
    read: u64,
    decoded: u64,
    bytes: u64,
    untimed: u64,
    skipped: HashMap<SkipReason, u64>,
    record_skips: HashMap<RecordSkip, u64>,
    damage: Vec<Damage>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// First and last timestamps in capture order, to count steps back
    /// across batch boundaries.
    first_in_order: Option<Timestamp>,
    last_in_order: Option<Timestamp>,
    times: TimeFacts,
    links: BTreeSet<u32>,
}

impl Tally {
    /// Appends the tally of the batch that follows.
    fn merge(&mut self, o: Tally) {
        self.read += o.read;
        self.decoded += o.decoded;
        self.bytes += o.bytes;
        self.untimed += o.untimed;
        for (k, v) in o.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        for (k, v) in o.record_skips {
            *self.record_skips.entry(k).or_default() += v;
        }
        self.damage.extend(o.damage);
        self.first = Timestamp::earliest(self.first, o.first);
        self.last = Timestamp::latest(self.last, o.last);
        if let (Some(l), Some(r)) = (self.last_in_order, o.first_in_order) {
            self.times.out_of_order += u64::from(r < l);
        }
        self.first_in_order = self.first_in_order.or(o.first_in_order);
        self.last_in_order = o.last_in_order.or(self.last_in_order);
        self.times.out_of_order += o.times.out_of_order;
        self.times.zero += o.times.zero;
        self.times.future += o.times.future;
        self.links.extend(o.links);
    }

    fn time(&mut self, ts: Timestamp, future_after: Option<Timestamp>) {
        self.first = Timestamp::earliest(self.first, Some(ts));
        self.last = Timestamp::latest(self.last, Some(ts));
        if let Some(prev) = self.last_in_order {
            self.times.out_of_order += u64::from(ts < prev);
        }
        self.first_in_order.get_or_insert(ts);
        self.last_in_order = Some(ts);
        self.times.zero += u64::from(ts == Timestamp(0));
        self.times.future += u64::from(future_after.is_some_and(|f| ts > f));
    }
}

/// A stretch of records, with the walker state at its start.
struct Batch {
    start: usize,
    end: usize,
    walker: Walker,
}

/// Everything read from the inputs.
pub struct Ingested {
    pub table: FlowTable,
    pub files: Vec<FileStats>,
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
pub fn ingest(inputs: &[CaptureInput], opts: &IngestOptions) -> Ingested {
    let parts: Vec<(FlowTable, FileStats)> = inputs
        .par_iter()
        .map(|input| ingest_one(input, opts))
        .collect();
    let mut table = FlowTable::new();
    let mut files = Vec::with_capacity(parts.len());
    for (t, mut f) in parts {
        let before = f.packets_decoded;
        table.absorb(t, &opts.limits);
        let o = table.take_overflow();
        f.unuse(FLOW_LIMIT, o.packets.min(before));
        f.overflow.add(&o);
        files.push(f);
    }
    Ingested { table, files }
}

/// Reads one capture into its own table.
pub fn ingest_one(input: &CaptureInput, opts: &IngestOptions) -> (FlowTable, FileStats) {
    match input.open() {
        Err(e) => {
            let mut stats = FileStats::named(input.display_name());
            stats.unreadable = Some(e.message);
            (FlowTable::new(), stats)
        }
        Ok(source) => read_source(input.display_name(), source, opts),
    }
}

/// Reads a capture held in memory, as a file is read (tests, fuzzing).
pub fn ingest_bytes(name: &str, buf: &[u8]) -> (FlowTable, FileStats) {
    let source = InputSource {
        reader: Box::new(io::Cursor::new(buf.to_vec())),
        compressed: false,
        size: Some(buf.len() as u64),
    };
    read_source(name.to_string(), source, &IngestOptions::default())
}

/// Reads a capture front to back from `reader`, as stdin is read.
pub fn ingest_reader(name: &str, reader: Box<dyn Read + Send>) -> (FlowTable, FileStats) {
    ingest_reader_with(name, reader, &IngestOptions::default())
}

/// [`ingest_reader`] with explicit limits.
pub fn ingest_reader_with(
    name: &str,
    reader: Box<dyn Read + Send>,
    opts: &IngestOptions,
) -> (FlowTable, FileStats) {
    let source = InputSource {
        reader,
        compressed: false,
        size: None,
    };
    read_source(name.to_string(), source, opts)
}

/// Reads an opened capture into its own table: every entry point ends here.
fn read_source(name: String, source: InputSource, opts: &IngestOptions) -> (FlowTable, FileStats) {
    let mut stats = FileStats::named(name);
    stats.compressed = source.compressed;
    let (table, tally) = read_stream(source.reader, source.size, &mut stats, opts);
    finish_file(table, tally, stats)
}

/// Seals the table and moves the tally into the file's stats.
fn finish_file(mut table: FlowTable, tally: Tally, mut stats: FileStats) -> (FlowTable, FileStats) {
    let orphans = table.seal();
    stats.overflow = table.take_overflow();
    stats.packets_read = tally.read;
    stats.packets_decoded = tally.decoded;
    stats.bytes_read = tally.bytes;
    stats.untimed_packets = tally.untimed;
    stats.first_ts = tally.first;
    stats.last_ts = tally.last;
    stats.times = tally.times;
    stats.link_types = tally
        .links
        .iter()
        .map(|&l| crate::capture::LinkType(l).name())
        .collect();
    for (k, v) in tally.skipped {
        stats.skipped.insert(k.label(), v);
    }
    for (k, v) in tally.record_skips {
        stats.skipped.insert(k.label().to_string(), v);
    }
    stats.unuse(&SkipReason::FragmentWithoutFirst.label(), orphans);
    stats.unuse(FLOW_LIMIT, stats.overflow.packets);
    let mut damage = tally.damage;
    damage.append(&mut stats.damage);
    // In file order, whichever stage met it.
    damage.sort_by_key(|d| d.offset);
    stats.damage = damage;
    (table, stats)
}

/// One chunk from the reading thread: `buf[room..room + len]` holds new
/// bytes of the input. The room before them takes the end of the previous
/// chunk (a record cut by the chunk boundary), so that joining the two
/// copies only that end.
struct Chunk {
    buf: Vec<u8>,
    room: usize,
    len: usize,
    end: ChunkEnd,
}

enum ChunkEnd {
    More,
    Eof,
    Failed(io::Error),
}

/// The channels to and the handle of a reading thread.
type Reading = (
    mpsc::Receiver<Chunk>,
    mpsc::Sender<Vec<u8>>,
    std::thread::JoinHandle<()>,
);

/// Starts the thread that reads `reader` into chunks, two buffers in
/// turn. It is joined once it has sent the end of the input; when the walk
/// stops early (damage) it is left to end at its next send, or with the
/// process if the input blocks (a live stdin).
fn spawn_reader(mut reader: Box<dyn Read + Send>, chunk_bytes: usize) -> io::Result<Reading> {
    let chunk_bytes = chunk_bytes.max(1);
    let room = chunk_bytes / 16;
    let (full_tx, full_rx) = mpsc::sync_channel::<Chunk>(1);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..2 {
        let _ = free_tx.send(Vec::new());
    }
    let handle = std::thread::Builder::new()
        .name("portaudit-read".into())
        .spawn(move || {
            while let Ok(mut buf) = free_rx.recv() {
                buf.resize(room + chunk_bytes, 0);
                let mut len = 0;
                let mut end = ChunkEnd::More;
                while len < chunk_bytes {
                    match reader.read(&mut buf[room + len..]) {
                        Ok(0) => {
                            end = ChunkEnd::Eof;
                            break;
                        }
                        Ok(n) => len += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            end = ChunkEnd::Failed(e);
                            break;
                        }
                    }
                }
                let last = !matches!(end, ChunkEnd::More);
                let chunk = Chunk {
                    buf,
                    room,
                    len,
                    end,
                };
                if full_tx.send(chunk).is_err() || last {
                    return;
                }
            }
        })?;
    Ok((full_rx, free_tx, handle))
}

/// Reads a capture front to back, a chunk at a time.
fn read_stream(
    reader: Box<dyn Read + Send>,
    size: Option<u64>,
    stats: &mut FileStats,
    opts: &IngestOptions,
) -> (FlowTable, Tally) {
    let mut table = FlowTable::new();
    let mut tally = Tally::default();
    // A small file needs no more than its size (and one byte to see its
    // end): directories of small captures then cost little memory.
    let chunk = match size {
        Some(n) => opts
            .chunk_bytes
            .min((n as usize).saturating_add(1).max(4096)),
        None => opts.chunk_bytes,
    };
    let (full, free, handle) = match spawn_reader(reader, chunk) {
        Ok(channels) => channels,
        Err(e) => {
            stats.unreadable = Some(format!("cannot start a reading thread: {e}"));
            return (table, tally);
        }
    };
    // The end of the previous chunk that holds no whole record yet.
    let mut carry: Vec<u8> = Vec::new();
    // Input offset of the first byte of `carry`.
    let mut base: u64 = 0;
    let mut walker: Option<Walker> = None;
    let mut pos = 0usize;
    loop {
        let Chunk {
            mut buf,
            room,
            len,
            end,
        } = full.recv().unwrap_or(Chunk {
            buf: Vec::new(),
            room: 0,
            len: 0,
            end: ChunkEnd::Eof,
        });
        // Join the carried bytes and the new ones without copying the new.
        let joined: &[u8] = if carry.len() <= room {
            let at = room - carry.len();
            buf[at..room].copy_from_slice(&carry);
            &buf[at..room + len]
        } else {
            carry.extend_from_slice(&buf[room..room + len]);
            &carry
        };
        let eof = !matches!(end, ChunkEnd::More);
        if let ChunkEnd::Failed(e) = &end {
            let what = if stats.compressed {
                "the compressed stream is corrupt or cut short"
            } else {
                "the input could not be read further"
            };
            stats.damage.push(Damage {
                offset: base + joined.len() as u64,
                message: format!("{what}: {e}"),
            });
        }
        let w = match walker.as_mut() {
            Some(w) => w,
            None => match Walker::open(joined, eof) {
                Ok(Some((w, p))) => {
                    stats.format = w.format_name().to_string();
                    pos = p;
                    walker.insert(w)
                }
                Ok(None) => {
                    carry = joined.to_vec();
                    let _ = free.send(buf);
                    continue;
                }
                Err(e) => {
                    stats.unreadable = Some(e.to_string());
                    return (table, tally);
                }
            },
        };
        let (batches, stop, damage) = plan_batches(w, joined, pos, base, eof);
        let stopped = damage.is_some();
        stats.damage.extend(damage);
        let parts: Vec<(FlowTable, Tally)> = batches
            .into_par_iter()
            .map(|batch| decode_batch(joined, base, batch, opts.future_after))
            .collect();
        for (t, y) in parts {
            table.absorb(t, &opts.limits);
            tally.merge(y);
        }
        if eof {
            // The thread has sent its last chunk and is returning.
            let _ = handle.join();
            return (table, tally);
        }
        if stopped {
            return (table, tally);
        }
        // Keep the unfinished record for the next round.
        base += stop as u64;
        carry = joined[stop..].to_vec();
        pos = 0;
        let _ = free.send(buf);
    }
}

/// Walks record headers from `pos`, cutting batches of about
/// [`BATCH_BYTES`]. Returns the batches, the position where the walk
/// stopped, and the damage that stopped it (a cut record counts as damage
/// only at the end of the input).
fn plan_batches(
    walker: &mut Walker,
    buf: &[u8],
    mut pos: usize,
    base: u64,
    at_eof: bool,
) -> (Vec<Batch>, usize, Option<Damage>) {
    let mut batches = Vec::new();
    let mut start = pos;
    let mut at_start = walker.clone();
    let mut damage = None;
    loop {
        if pos - start >= BATCH_BYTES {
            let next_walker = walker.clone();
            batches.push(Batch {
                start,
                end: pos,
                walker: std::mem::replace(&mut at_start, next_walker),
            });
            start = pos;
        }
        match walker.step(buf, pos, base) {
            Step::Packet { next, .. } | Step::Skipped { next, .. } | Step::Block { next, .. } => {
                pos = next
            }
            Step::End => break,
            Step::NeedMore { need } => {
                if at_eof {
                    damage = Some(Damage {
                        offset: base + pos as u64,
                        message: format!(
                            "the file ends in the middle of a record: {} byte(s) present, {} more needed (the capture was cut short)",
                            buf.len() - pos,
                            need
                        ),
                    });
                }
                break;
            }
            Step::Damaged(d) => {
                damage = Some(d);
                break;
            }
        }
    }
    if pos > start {
        batches.push(Batch {
            start,
            end: pos,
            walker: at_start,
        });
    }
    (batches, pos, damage)
}

/// Decodes one batch into a table and tally of its own.
fn decode_batch(
    buf: &[u8],
    base: u64,
    batch: Batch,
    future_after: Option<Timestamp>,
) -> (FlowTable, Tally) {
    let mut table = FlowTable::new();
    let mut tally = Tally::default();
    let Batch {
        start,
        end,
        mut walker,
    } = batch;
    let region = &buf[..end];
    let mut pos = start;
    let mut last_link = None;
    while pos < end {
        match walker.step(region, pos, base) {
            Step::Packet { record, next } => {
                pos = next;
                tally.read += 1;
                tally.bytes += u64::from(record.orig_len);
                if last_link != Some(record.link) {
                    tally.links.insert(record.link.0);
                    last_link = Some(record.link);
                }
                match record.ts {
                    Some(ts) => tally.time(ts, future_after),
                    None => tally.untimed += 1,
                }
                match decode(record.link, record.data, record.orig_len) {
                    Ok(p) => {
                        tally.decoded += 1;
                        table.add(&p, record.ts);
                    }
                    Err(reason) => *tally.skipped.entry(reason).or_default() += 1,
                }
            }
            Step::Skipped { skip, next, damage } => {
                pos = next;
                tally.read += 1;
                *tally.record_skips.entry(skip).or_default() += 1;
                tally.damage.extend(damage);
            }
            Step::Block { next, damage } => {
                pos = next;
                tally.damage.extend(damage);
            }
            // The plan walked this stretch already; these cannot recur.
            Step::End | Step::NeedMore { .. } | Step::Damaged(_) => break,
        }
    }
    (table, tally)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::PcapWriter;

    /// Steps back in time are counted across batch and chunk boundaries
    /// exactly as within them.
    #[test]
    fn odd_timestamps_are_counted_across_batches() {
        let frame = [0u8; 100];
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let n: u64 = 250_000; // 29 MB: several batches and two chunks
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
        let (_, stats) = ingest_reader_with("odd", Box::new(io::Cursor::new(bytes)), &opts);
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
