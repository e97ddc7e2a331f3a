//! Reading captures into one flow table: all the threading of the pipeline.
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
//! included (see [`FlowTable`]). A segment that would track more than its
//! share of the limits (the limits divided by the segments) stops, and the
//! file is walked again as one segment, within the limits: memory stays
//! bounded by the limits, results by the capture alone. Streams (stdin, gzip) are walked once,
//! from the start, while a thread of their own reads or inflates ahead.
//!
//! Files run in parallel too, and are absorbed in the order they were
//! named. Results depend neither on threads nor on where anything was cut.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use rayon::prelude::*;

use crate::capture::{
    read_up_to, CaptureInput, Damage, InputSource, LinkType, LiveCounts, RecordSkip, Step,
    Timestamp, Walker,
};
use crate::decode::{decode, PacketSummary, SkipReason};
use crate::filter::{self, FilterCursor, FilterVerdict, PacketFilter};
use crate::flow::{FlowTable, Flows, Limits, Overflow};

/// Bytes read at a time: small enough that a chunk is still in cache when
/// it is walked.
pub const CHUNK_BYTES: usize = 256 << 10;
/// A plain file is cut into segments of at least this size, one per thread.
pub const MIN_SEGMENT_BYTES: u64 = 16 << 20;

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
    /// Counts bytes and packets as they are walked, for a progress line.
    pub progress: Option<Arc<Progress>>,
    /// `--filter`: packets it rejects are counted, not decoded.
    pub filter: Option<Arc<PacketFilter>>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            limits: Limits::default(),
            future_after: None,
            chunk_bytes: CHUNK_BYTES,
            segments: None,
            progress: None,
            filter: None,
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
    /// Only for a live capture: what the kernel counted.
    pub live: Option<LiveCounts>,
    /// Only for a live capture: why capturing stopped before it was asked
    /// to.
    pub capture_failed: Option<String>,
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

    /// What a live capture missed, said for people: packets the kernel
    /// dropped, a capture that failed. `None` when nothing was missed (or
    /// the input is a file).
    pub fn incomplete_note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(l) = self.live.filter(|l| l.dropped > 0) {
            let mut note = format!(
                "the kernel dropped {} packets before they could be read: they are not audited",
                l.dropped
            );
            if l.interface_dropped > 0 {
                note += &format!(
                    " (the interface also counts {} dropped, in all its traffic)",
                    l.interface_dropped
                );
            }
            parts.push(note);
        }
        if let Some(why) = &self.capture_failed {
            parts.push(format!(
                "capturing stopped after {} packets: {why}",
                self.packets_read
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
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

/// Counters of one walk, merged in capture order.
#[derive(Clone, Debug, Default)]
struct Tally {
    read: u64,
    decoded: u64,
    bytes: u64,
    untimed: u64,
    skipped: HashMap<SkipReason, u64>,
    record_skips: HashMap<RecordSkip, u64>,
    /// Packets `--filter` rejected.
    not_matching: u64,
    /// Packets of link types `--filter` cannot be compiled for, by type.
    filter_inapplicable: BTreeMap<u32, u64>,
    damage: Vec<Damage>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// First and last timestamps in capture order, to count steps back
    /// across segment boundaries.
    first_in_order: Option<Timestamp>,
    last_in_order: Option<Timestamp>,
    times: TimeFacts,
    links: BTreeSet<u32>,
}

impl Tally {
    /// Appends the tally of the walk that follows.
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
        self.not_matching += o.not_matching;
        for (k, v) in o.filter_inapplicable {
            *self.filter_inapplicable.entry(k).or_default() += v;
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

/// Everything read from the inputs.
pub struct Ingested {
    pub table: FlowTable,
    pub files: Vec<FileStats>,
}

/// Packets `--filter` kept out of the audit, over all files.
pub fn filtered_out(files: &[FileStats]) -> u64 {
    files
        .iter()
        .flat_map(|f| &f.skipped)
        .filter(|(reason, _)| {
            reason.as_str() == filter::NOT_MATCHING || reason.starts_with(filter::INAPPLICABLE)
        })
        .map(|(_, n)| n)
        .sum()
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

/// Reads a capture held in memory, as a stream is read (tests, fuzzing).
pub fn ingest_bytes(name: &str, buf: &[u8]) -> (FlowTable, FileStats) {
    ingest_reader(name, Box::new(io::Cursor::new(buf.to_vec())))
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
        file: None,
    };
    read_source(name.to_string(), source, opts)
}

/// Reads an opened capture into its own table: every entry point ends here.
fn read_source(name: String, source: InputSource, opts: &IngestOptions) -> (FlowTable, FileStats) {
    let mut stats = FileStats::named(name);
    stats.compressed = source.compressed;
    let walked = match (source.file, source.size) {
        (Some(file), Some(size)) => read_file(&file, size, &mut stats, opts),
        _ => read_stream(source.reader, &mut stats, opts),
    };
    match walked {
        Some((table, tally)) => finish_file(table, tally, stats),
        None => (FlowTable::new(), stats),
    }
}

/// Seals the table and moves the tally into the file's stats.
fn finish_file(mut table: FlowTable, tally: Tally, mut stats: FileStats) -> (FlowTable, FileStats) {
    let orphans = table.seal();
    let overflow = table.take_overflow();
    fill_stats(&mut stats, tally, overflow, orphans);
    (table, stats)
}

/// Moves a tally, what the limits kept out, and the count of later
/// fragments that never found their first into `stats`.
fn fill_stats(stats: &mut FileStats, tally: Tally, overflow: Overflow, orphans: u64) {
    stats.overflow = overflow;
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
    if tally.not_matching > 0 {
        stats
            .skipped
            .insert(filter::NOT_MATCHING.to_string(), tally.not_matching);
    }
    for (k, v) in tally.filter_inapplicable {
        stats
            .skipped
            .insert(filter::inapplicable_label(LinkType(k)), v);
    }
    stats.unuse(&SkipReason::FragmentWithoutFirst.label(), orphans);
    stats.unuse(FLOW_LIMIT, stats.overflow.packets);
    let mut damage = tally.damage;
    damage.append(&mut stats.damage);
    // In file order, whichever walk met it.
    damage.sort_by_key(|d| d.offset);
    stats.damage = damage;
}

/// Decoded packets wait in a [`Feed`] to be added this many at a time.
const PENDING: usize = 64;

/// What every packet record goes through, read from a file or captured
/// live: counted, its time judged, filtered, decoded, and queued for the
/// flow table.
#[derive(Debug)]
struct Feed {
    tally: Tally,
    pending: Vec<(PacketSummary, Option<Timestamp>)>,
    last_link: Option<LinkType>,
    future_after: Option<Timestamp>,
    filter: Option<FilterCursor>,
}

impl Feed {
    fn new(opts: &IngestOptions) -> Feed {
        Feed {
            tally: Tally::default(),
            pending: Vec::with_capacity(PENDING),
            last_link: None,
            future_after: opts.future_after,
            filter: opts.filter.clone().map(FilterCursor::new),
        }
    }

    /// Takes one packet; `true` when the table has gone over its budget
    /// ([`FlowTable::with_budget`]).
    #[inline]
    fn packet(
        &mut self,
        link: LinkType,
        data: &[u8],
        orig_len: u32,
        ts: Option<Timestamp>,
        table: &mut FlowTable,
    ) -> bool {
        let tally = &mut self.tally;
        tally.read += 1;
        tally.bytes += u64::from(orig_len);
        if self.last_link != Some(link) {
            tally.links.insert(link.0);
            self.last_link = Some(link);
        }
        match ts {
            Some(ts) => tally.time(ts, self.future_after),
            None => tally.untimed += 1,
        }
        if let Some(f) = &mut self.filter {
            match f.judge(link, data, orig_len) {
                FilterVerdict::Match => {}
                FilterVerdict::NoMatch => {
                    tally.not_matching += 1;
                    return false;
                }
                FilterVerdict::Inapplicable => {
                    *tally.filter_inapplicable.entry(link.0).or_default() += 1;
                    return false;
                }
            }
        }
        match decode(link, data, orig_len) {
            Ok(p) => {
                tally.decoded += 1;
                self.pending.push((p, ts));
                if self.pending.len() == PENDING {
                    self.flush(table);
                    return table.over();
                }
            }
            Err(reason) => *tally.skipped.entry(reason).or_default() += 1,
        }
        false
    }

    /// Adds the packets waiting to the table.
    fn flush(&mut self, table: &mut FlowTable) {
        table.add_all(&self.pending);
        self.pending.clear();
    }
}

/// A live capture's flow table, fed a packet at a time in arrival order
/// (`portaudit watch`), audited from snapshots while it grows.
pub struct LiveIngest {
    name: String,
    table: FlowTable,
    feed: Feed,
    failed: Option<String>,
}

impl LiveIngest {
    /// An empty table within `opts.limits`, for the input called `name`.
    pub fn new(name: &str, opts: &IngestOptions) -> LiveIngest {
        LiveIngest {
            name: name.to_string(),
            table: FlowTable::limited(opts.limits),
            feed: Feed::new(opts),
            failed: None,
        }
    }

    /// Takes one captured packet.
    pub fn packet(&mut self, link: LinkType, data: &[u8], orig_len: u32, ts: Timestamp) {
        self.feed
            .packet(link, data, orig_len, Some(ts), &mut self.table);
    }

    /// Notes why capturing stopped before it was asked to.
    pub fn stopped(&mut self, why: &str) {
        self.failed = Some(why.to_string());
    }

    /// A copy of the flows so far (to audit elsewhere), and the
    /// counts; the table keeps growing.
    pub fn snapshot(&mut self) -> (Flows, FileStats) {
        self.feed.flush(&mut self.table);
        let mut stats = FileStats::named(self.name.clone());
        stats.format = "live capture".to_string();
        fill_stats(
            &mut stats,
            self.feed.tally.clone(),
            self.table.overflow().clone(),
            self.table.orphan_packets(),
        );
        stats.capture_failed = self.failed.clone();
        (self.table.copy_flows(), stats)
    }
}

/// Where a walk gets its bytes.
trait Source {
    /// Reads the next bytes into `buf`; 0 at the end of the input.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// A plain file read from an offset on with positional reads, so that
/// several walks read one file at once.
struct FileAt<'f> {
    file: &'f File,
    offset: u64,
}

impl Source for FileAt<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read_at(buf, self.offset) {
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// A stream read ahead by a thread of its own, so that reading (and
/// inflating) overlaps the walk. Two chunks are in flight at most.
struct Streamed {
    full: mpsc::Receiver<io::Result<Vec<u8>>>,
    free: mpsc::Sender<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Streamed {
    /// Starts the reading thread. It ends after sending the end of the
    /// input or an error; when the walk stops early (damage) it ends at
    /// its next send, or with the process if the input blocks (a live
    /// stdin).
    fn start(mut reader: Box<dyn Read + Send>, chunk_bytes: usize) -> io::Result<Streamed> {
        let chunk_bytes = chunk_bytes.max(1);
        let (full_tx, full) = mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
        let (free, free_rx) = mpsc::channel::<Vec<u8>>();
        let handle = std::thread::Builder::new()
            .name("portaudit-read".into())
            .spawn(move || loop {
                let mut buf = free_rx.try_recv().unwrap_or_default();
                buf.resize(chunk_bytes, 0);
                let (n, error) = read_up_to(&mut reader, &mut buf);
                buf.truncate(n);
                // A short read is the end of the input, or an error after
                // the bytes read before it.
                let end = error.is_some() || n < chunk_bytes;
                if n > 0 && full_tx.send(Ok(buf)).is_err() {
                    return;
                }
                if end {
                    let _ = full_tx.send(error.map_or(Ok(Vec::new()), Err));
                    return;
                }
            })?;
        Ok(Streamed {
            full,
            free,
            chunk: Vec::new(),
            at: 0,
            reader: Some(handle),
        })
    }
}

impl Source for Streamed {
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            let _ = self.free.send(std::mem::take(&mut self.chunk));
            self.at = 0;
            match self.full.recv() {
                Ok(Ok(chunk)) => self.chunk = chunk,
                Ok(Err(e)) => return Err(e),
                // The thread has ended after the end of the input.
                Err(_) => {}
            }
            if self.chunk.is_empty() {
                if let Some(h) = self.reader.take() {
                    let _ = h.join();
                }
                return Ok(0);
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The bytes of an input from offset `base` on, `buf[..len]`, refilled
/// from a source a chunk at a time.
struct Window<S> {
    source: S,
    buf: Vec<u8>,
    len: usize,
    base: u64,
    at_eof: bool,
    /// The bytes are inflated from a gzip stream (for messages).
    compressed: bool,
}

impl<S: Source> Window<S> {
    fn new(source: S, base: u64, chunk_bytes: usize, compressed: bool) -> Self {
        Window {
            source,
            buf: vec![0; chunk_bytes.max(1)],
            len: 0,
            base,
            at_eof: false,
            compressed,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Drops the bytes before `pos` and reads more after the rest, making
    /// room for at least `need` more. A read error ends the input there,
    /// and is returned as damage.
    fn advance(&mut self, pos: usize, need: usize) -> Option<Damage> {
        self.buf.copy_within(pos..self.len, 0);
        self.base += pos as u64;
        self.len -= pos;
        if self.buf.len() < self.len + need.max(1) {
            self.buf.resize(self.len + need.max(1), 0);
        }
        match self.source.fill(&mut self.buf[self.len..]) {
            Ok(0) => self.at_eof = true,
            Ok(n) => self.len += n,
            Err(e) => {
                self.at_eof = true;
                let what = if self.compressed {
                    "the compressed stream is corrupt or cut short"
                } else {
                    "the input could not be read further"
                };
                return Some(Damage {
                    offset: self.base + self.len as u64,
                    message: format!("{what}: {e}"),
                });
            }
        }
        None
    }
}

/// Why a walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// At the first record at or after the end of its segment.
    Boundary,
    /// At the end of the input (cut short or not).
    End,
    /// At a record too corrupt to walk past.
    Damaged,
    /// Its table would hold more than its budget
    /// ([`FlowTable::with_budget`]).
    OverBudget,
}

/// A walk of records: its flows and counts, and where, in which state
/// and why it stopped.
struct Walked {
    table: FlowTable,
    tally: Tally,
    end: u64,
    walker: Walker,
    stop: Stop,
}

/// Walks the records from `pos` of the window (a record start, in the
/// state `walker` holds there) until the first record at or after input
/// offset `until`, the end of the input, damage that stops the walk, or,
/// for a table with a budget, more flows or fragments than the budget.
fn walk<S: Source>(
    win: &mut Window<S>,
    mut pos: usize,
    mut walker: Walker,
    mut table: FlowTable,
    until: u64,
    opts: &IngestOptions,
) -> Walked {
    let mut feed = Feed::new(opts);
    // Packets already added to the progress counts.
    let mut counted = 0;
    let stop = 'walk: loop {
        let mut need = 0;
        loop {
            if win.base + pos as u64 >= until {
                break 'walk Stop::Boundary;
            }
            match walker.step(win.bytes(), pos, win.base) {
                Step::Packet { record, next } => {
                    pos = next;
                    let r = record;
                    if feed.packet(r.link, r.data, r.orig_len, r.ts, &mut table) {
                        break 'walk Stop::OverBudget;
                    }
                }
                Step::Skipped { skip, next, damage } => {
                    pos = next;
                    feed.tally.read += 1;
                    *feed.tally.record_skips.entry(skip).or_default() += 1;
                    feed.tally.damage.extend(damage);
                }
                Step::Block { next, damage } => {
                    pos = next;
                    feed.tally.damage.extend(damage);
                }
                Step::End if win.at_eof => break 'walk Stop::End,
                Step::End => break,
                Step::NeedMore { need: more } if win.at_eof => {
                    feed.tally.damage.push(Damage {
                        offset: win.base + pos as u64,
                        message: format!(
                            "the file ends in the middle of a record: {} byte(s) present, \
                             {more} more needed (the capture was cut short)",
                            win.len - pos
                        ),
                    });
                    break 'walk Stop::End;
                }
                Step::NeedMore { need: more } => {
                    need = more;
                    break;
                }
                Step::Damaged(d) => {
                    feed.tally.damage.push(d);
                    break 'walk Stop::Damaged;
                }
            }
        }
        if let Some(p) = &opts.progress {
            p.bytes.fetch_add(pos as u64, Ordering::Relaxed);
            p.packets
                .fetch_add(feed.tally.read - counted, Ordering::Relaxed);
            counted = feed.tally.read;
        }
        feed.tally.damage.extend(win.advance(pos, need));
        pos = 0;
    };
    if let Some(p) = &opts.progress {
        p.bytes.fetch_add(pos as u64, Ordering::Relaxed);
        p.packets
            .fetch_add(feed.tally.read - counted, Ordering::Relaxed);
    }
    feed.flush(&mut table);
    Walked {
        table,
        tally: feed.tally,
        end: win.base + pos as u64,
        walker,
        stop,
    }
}

/// Reads the file header; returns the walker and the window positioned at
/// the first record. `None`: the input is not a capture (said in `stats`).
fn open_walk<S: Source>(win: &mut Window<S>, stats: &mut FileStats) -> Option<(Walker, usize)> {
    loop {
        match Walker::open(win.bytes(), win.at_eof) {
            Ok(Some((w, pos))) => {
                stats.format = w.format_name().to_string();
                return Some((w, pos));
            }
            Ok(None) => {
                let need = win.buf.len();
                stats.damage.extend(win.advance(0, need));
            }
            Err(e) => {
                stats.unreadable = Some(e.to_string());
                return None;
            }
        }
    }
}

/// Reads a stream front to back, in one walk within the limits.
fn read_stream(
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
    let table = FlowTable::limited(opts.limits);
    let mut w = walk(&mut win, pos, walker, table, u64::MAX, opts);
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
                        message: format!("the compressed stream is corrupt or cut short: {e}"),
                    });
                    break;
                }
            }
        }
    }
    Some((w.table, w.tally))
}

/// A segment walked from a guessed start, in a guessed state.
struct Guessed {
    state: Walker,
    /// Where the walk began, and the walk (`None`: nothing looked like a
    /// record).
    walked: Option<(u64, Walked)>,
}

/// Reads a plain file `size` bytes long (when opened): in segments at
/// once when it is large enough, else in one walk.
fn read_file(
    file: &File,
    size: u64,
    stats: &mut FileStats,
    opts: &IngestOptions,
) -> Option<(FlowTable, Tally)> {
    let chunk = opts.chunk_bytes;
    let mut head = Window::new(FileAt { file, offset: 0 }, 0, chunk, false);
    let (walker, first) = open_walk(&mut head, stats)?;
    let first = head.base + first as u64;
    let span = size.saturating_sub(first);
    let segments = opts.segments.unwrap_or_else(|| {
        let threads = rayon::current_num_threads() as u64;
        (span / MIN_SEGMENT_BYTES).clamp(1, threads.max(1)) as usize
    });
    // Tables read ahead hold at most their share of the limits between
    // them; one that would hold more sends the file back to one walk. So
    // reading ahead never takes more memory than the limits allow.
    let share = Limits {
        max_flows: (opts.limits.max_flows / segments).max(1),
        max_fragments: (opts.limits.max_fragments / segments).max(1),
    };
    // Walks from a record start at `at`, in `state`.
    let walk_at = |at: u64, state: Walker, table: FlowTable, until: u64| {
        let mut win = Window::new(FileAt { file, offset: at }, at, chunk, false);
        walk(&mut win, 0, state, table, until, opts)
    };
    let whole = || {
        let w = walk_at(
            first,
            walker.clone(),
            FlowTable::limited(opts.limits),
            u64::MAX,
        );
        Some((w.table, w.tally))
    };
    if segments <= 1 {
        return whole();
    }
    // The state a walk has at the first packet: what later segments assume.
    let Some(at_first_packet) = state_at_first_packet(&head, walker.clone(), first) else {
        return whole();
    };
    drop(head);
    let bounds: Vec<u64> = (0..segments as u64)
        .map(|k| first + span / segments as u64 * k)
        .chain(std::iter::once(u64::MAX))
        .collect();
    let guessed: Vec<Guessed> = (0..segments)
        .into_par_iter()
        .map(|k| {
            let (from, until) = (bounds[k], bounds[k + 1]);
            if k == 0 {
                let walked = walk_at(first, walker.clone(), FlowTable::with_budget(share), until);
                return Guessed {
                    state: walker.clone(),
                    walked: Some((first, walked)),
                };
            }
            let mut win = Window::new(FileAt { file, offset: from }, from, chunk, false);
            while win.len == 0 && !win.at_eof {
                let need = win.buf.len();
                let _ = win.advance(0, need);
            }
            let state = at_first_packet.clone();
            let walked = state.find_record(win.bytes(), 0, from).map(|pos| {
                let table = FlowTable::with_budget(share);
                let w = walk(&mut win, pos, state.clone(), table, until, opts);
                (from + pos as u64, w)
            });
            Guessed { state, walked }
        })
        .collect();
    // Each segment whose guess proves right, or walked again from where
    // the one before ended, absorbed in file order.
    let mut table = FlowTable::new();
    let mut tally = Tally::default();
    let (mut end, mut state) = (first, walker.clone());
    let mut over = false;
    for (k, guess) in guessed.into_iter().enumerate() {
        let w = match guess {
            Guessed {
                state: assumed,
                walked: Some((start, w)),
            } if start == end && assumed == state => w,
            _ => walk_at(end, state, FlowTable::with_budget(share), bounds[k + 1]),
        };
        if w.stop == Stop::OverBudget {
            over = true;
            break;
        }
        table.absorb(w.table, &opts.limits);
        tally.merge(w.tally);
        if w.stop != Stop::Boundary {
            break;
        }
        (end, state) = (w.end, w.walker);
    }
    if over {
        // Every table read ahead is dropped by now: the walk within the
        // limits starts with nothing else held.
        drop(table);
        return whole();
    }
    Some((table, tally))
}

/// The state a walk from input offset `first` is in when it meets the
/// first packet record, if `head` holds that far.
fn state_at_first_packet<S: Source>(
    head: &Window<S>,
    mut walker: Walker,
    first: u64,
) -> Option<Walker> {
    let mut pos = (first - head.base) as usize;
    loop {
        let mut probe = walker.clone();
        match probe.step(head.bytes(), pos, head.base) {
            Step::Block { next, .. } => {
                walker = probe;
                pos = next;
            }
            Step::Packet { .. } | Step::Skipped { .. } => return Some(walker),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::PcapWriter;

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
