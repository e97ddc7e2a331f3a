//! Reading captures into one flow table: all the threading of the pipeline.
//!
//! A mapped file is walked once, cheaply, to find record boundaries; the
//! stretches between them (batches of a few MB) are decoded on rayon workers
//! into per-worker flow tables, which merge in capture order, so results do
//! not depend on the number of threads. Streams (gzip, stdin) go the same
//! way one chunk at a time, so memory stays bounded. Files run in parallel
//! too, and merge in the order they were named.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use rayon::prelude::*;

use crate::capture::{CaptureInput, Damage, InputSource, RecordSkip, Step, Timestamp, Walker};
use crate::decode::{decode, SkipReason};
use crate::flow::FlowTable;

/// Bytes of capture per batch handed to a worker.
const BATCH_BYTES: usize = 4 << 20;
/// Bytes read from a stream before a parallel wave.
const CHUNK_BYTES: usize = 64 << 20;

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
}

impl FileStats {
    fn named(name: String) -> FileStats {
        FileStats {
            name,
            ..FileStats::default()
        }
    }
}

/// Counters of one batch, merged like flow tables.
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
    links: BTreeSet<u32>,
}

impl Tally {
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
        self.links.extend(o.links);
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

/// Reads every input. Runs on the current rayon pool.
pub fn ingest(inputs: &[CaptureInput]) -> Ingested {
    let parts: Vec<(FlowTable, FileStats)> = inputs.par_iter().map(ingest_one).collect();
    let mut table = FlowTable::new();
    let mut files = Vec::with_capacity(parts.len());
    for (t, f) in parts {
        table.merge(t);
        files.push(f);
    }
    Ingested { table, files }
}

/// Reads one capture into its own table.
pub fn ingest_one(input: &CaptureInput) -> (FlowTable, FileStats) {
    let mut stats = FileStats::named(input.display_name());
    let (table, tally) = match input.open() {
        Err(e) => {
            stats.unreadable = Some(e.message);
            return (FlowTable::new(), stats);
        }
        Ok(InputSource::Mapped(map)) => read_buffer(&map, &mut stats),
        Ok(InputSource::Memory(buf)) => read_buffer(&buf, &mut stats),
        Ok(InputSource::Stream { reader, compressed }) => {
            stats.compressed = compressed;
            read_stream(reader, &mut stats)
        }
    };
    finish_file(table, tally, stats)
}

/// Reads a capture held in memory, as a mapped file is read.
pub fn ingest_bytes(name: &str, buf: &[u8]) -> (FlowTable, FileStats) {
    let mut stats = FileStats::named(name.to_string());
    let (table, tally) = read_buffer(buf, &mut stats);
    finish_file(table, tally, stats)
}

/// Reads a capture front to back from `reader`, as stdin is read.
pub fn ingest_reader(name: &str, reader: Box<dyn Read + Send>) -> (FlowTable, FileStats) {
    let mut stats = FileStats::named(name.to_string());
    let (table, tally) = read_stream(reader, &mut stats);
    finish_file(table, tally, stats)
}

/// Seals the table and moves the tally into the file's stats.
fn finish_file(
    mut table: FlowTable,
    mut tally: Tally,
    mut stats: FileStats,
) -> (FlowTable, FileStats) {
    let orphans = table.seal();
    if orphans > 0 {
        *tally
            .skipped
            .entry(SkipReason::FragmentWithoutFirst)
            .or_default() += orphans;
        tally.decoded -= orphans;
    }
    stats.packets_read = tally.read;
    stats.packets_decoded = tally.decoded;
    stats.bytes_read = tally.bytes;
    stats.untimed_packets = tally.untimed;
    stats.first_ts = tally.first;
    stats.last_ts = tally.last;
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
    let mut damage = tally.damage;
    damage.append(&mut stats.damage);
    stats.damage = damage;
    (table, stats)
}

/// A whole capture in memory (a map or a buffer).
fn read_buffer(buf: &[u8], stats: &mut FileStats) -> (FlowTable, Tally) {
    let (mut walker, pos) = match Walker::open(buf, true) {
        Ok(Some(w)) => w,
        Ok(None) => {
            stats.unreadable = Some("too short to hold a capture header".into());
            return (FlowTable::new(), Tally::default());
        }
        Err(e) => {
            stats.unreadable = Some(e.to_string());
            return (FlowTable::new(), Tally::default());
        }
    };
    stats.format = walker.format_name().to_string();
    let (batches, _, damage) = plan_batches(&mut walker, buf, pos, 0, true);
    stats.damage.extend(damage);
    process(buf, 0, batches)
}

/// A capture read front to back: decompressed gzip, stdin.
fn read_stream(mut reader: Box<dyn Read + Send>, stats: &mut FileStats) -> (FlowTable, Tally) {
    let mut table = FlowTable::new();
    let mut tally = Tally::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut base: u64 = 0;
    let mut walker: Option<Walker> = None;
    let mut pos = 0usize;
    let mut eof = false;
    loop {
        // Fill up to a chunk past what is pending.
        let want = buf.len() + CHUNK_BYTES;
        while !eof && buf.len() < want {
            let old = buf.len();
            buf.resize(want, 0);
            match reader.read(&mut buf[old..]) {
                Ok(0) => {
                    buf.truncate(old);
                    eof = true;
                }
                Ok(n) => buf.truncate(old + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => {
                    buf.truncate(old);
                    eof = true;
                    stats.damage.push(Damage {
                        offset: base + buf.len() as u64,
                        message: format!("the compressed stream is corrupt or cut short: {e}"),
                    });
                }
            }
        }
        let w = match walker.as_mut() {
            Some(w) => w,
            None => match Walker::open(&buf, eof) {
                Ok(Some((w, p))) => {
                    stats.format = w.format_name().to_string();
                    pos = p;
                    walker.insert(w)
                }
                Ok(None) => continue,
                Err(e) => {
                    stats.unreadable = Some(e.to_string());
                    return (table, tally);
                }
            },
        };
        let (batches, end, damage) = plan_batches(w, &buf, pos, base, eof);
        let stopped = damage.is_some();
        stats.damage.extend(damage);
        let (t, y) = process(&buf, base, batches);
        table.merge(t);
        tally.merge(y);
        if eof || stopped {
            return (table, tally);
        }
        // Keep the incomplete record for the next round.
        buf.drain(..end);
        base += end as u64;
        pos = 0;
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

/// Decodes batches in parallel into one table, merged in capture order.
fn process(buf: &[u8], base: u64, batches: Vec<Batch>) -> (FlowTable, Tally) {
    batches
        .into_par_iter()
        .fold(
            || (FlowTable::new(), Tally::default()),
            |(mut table, mut tally), batch| {
                decode_batch(buf, base, batch, &mut table, &mut tally);
                (table, tally)
            },
        )
        .reduce(
            || (FlowTable::new(), Tally::default()),
            |(mut t1, mut y1), (t2, y2)| {
                t1.merge(t2);
                y1.merge(y2);
                (t1, y1)
            },
        )
}

fn decode_batch(buf: &[u8], base: u64, batch: Batch, table: &mut FlowTable, tally: &mut Tally) {
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
                    Some(ts) => {
                        tally.first = Timestamp::earliest(tally.first, Some(ts));
                        tally.last = Timestamp::latest(tally.last, Some(ts));
                    }
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
}
