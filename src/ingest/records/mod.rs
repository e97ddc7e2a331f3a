//! Flow records from the engines that already run at scale: Zeek's
//! conn.log (TSV and JSON lines) and Suricata's EVE flow events, read as
//! inputs beside captures and recognised by their content
//! ([`RecordFormat::sniff`], docs/inputs.md).
//!
//! A record is one connection as its engine saw it: the endpoints, which
//! side it calls the originator, packets and bytes each way, what it saw
//! of the TCP handshake and close. Each becomes the summary of a flow
//! ([`crate::flow::FlowStats::of_record`]) added to a flow table, so that records of
//! one key are one flow, and record inputs mix with captures, limits and
//! all, exactly as captures mix with each other.
//!
//! Nothing is dropped silently: a line that cannot be used is counted by
//! reason ([`RecordFault`]) with its line number, the first few in
//! detail; the rest of the input is read on. Lines are read one at a time
//! into a buffer of bounded size, whatever the input.

mod eve;
mod flowfile;
mod ipfix;
mod zeek;

pub use flowfile::INPUTS_KEY;
pub use ipfix::{Collector, MAX_EXPORTERS};

use std::fmt;
use std::io::{self, BufRead};
use std::net::IpAddr;
use std::sync::atomic::Ordering;

use crate::capture::{Damage, DamageKind, RecordFormat, Timestamp};
use crate::decode::{TunnelKind, TunnelMode};
use crate::flow::{
    Endpoint, FlowStats, FlowTable, Flows, Inputs, KeyedRecord, Origin, PackedKey, Place,
    RecordCounts, SequentialTable,
};
use crate::ingest::{FileStats, IngestOptions, Skip};

/// A line longer than this is no record of these formats (a Zeek conn.log
/// line is a few hundred bytes, an EVE flow event about a kilobyte): it is
/// counted and skipped without being held.
pub const MAX_LINE: usize = 64 << 10;
/// Records wait to be added to the table this many at a time, so that
/// their lookups overlap.
const PENDING: usize = 64;
/// Lines described one by one in a file's damage; all are counted.
const DETAILED: usize = 10;

/// Why a line of a record input is not in the audit. Labels are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordFault {
    /// The line cannot be split into the fields its header names, or is
    /// not a JSON object.
    Malformed,
    /// A field the audit needs is missing or unset.
    MissingField,
    /// A field holds a value its type cannot have.
    BadValue,
    /// The line follows a header that cannot be read (no `#fields`, a
    /// needed field missing, a wrong `#types`), or another log's header.
    BadHeader,
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// The input ends inside the line (a file cut short).
    CutShort,
    /// An IPFIX or v9 data set whose template the input never defined.
    NoTemplate,
    /// Zeek's `unknown_transport`: the record does not name its protocol.
    UnknownTransport,
    /// An EVE event of another type (alert, dns, stats...): not a flow,
    /// not damage.
    NotAFlow,
    /// A tunnel's own connection, left out as `--tunnels inner` leaves
    /// out a tunnel's packets.
    TunnelCarrier,
    /// A connection inside a tunnel, left out by `--tunnels outer`.
    InsideTunnel,
}

impl RecordFault {
    pub fn label(self) -> &'static str {
        match self {
            RecordFault::Malformed => "record-malformed",
            RecordFault::MissingField => "record-missing-field",
            RecordFault::BadValue => "record-bad-value",
            RecordFault::BadHeader => "record-under-bad-header",
            RecordFault::TooLong => "record-too-long",
            RecordFault::CutShort => "record-cut-short",
            RecordFault::NoTemplate => "record-no-template",
            RecordFault::UnknownTransport => "record-unknown-transport",
            RecordFault::NotAFlow => "record-not-a-flow-event",
            RecordFault::TunnelCarrier => "record-tunnel-carrier",
            RecordFault::InsideTunnel => "record-inside-tunnel",
        }
    }

    /// The line is damage (the input is not what it claims to be), not a
    /// record the format allows that the audit has no use for.
    pub fn is_damage(self) -> bool {
        !matches!(
            self,
            RecordFault::UnknownTransport
                | RecordFault::NotAFlow
                | RecordFault::TunnelCarrier
                | RecordFault::InsideTunnel
        )
    }
}

impl fmt::Display for RecordFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A line that could not be used: why, in a category and in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub fault: RecordFault,
    pub why: String,
}

impl LineError {
    pub(crate) fn new(fault: RecordFault, why: impl Into<String>) -> LineError {
        LineError {
            fault,
            why: why.into(),
        }
    }
}

/// One connection a record names: its first side (Zeek's originator,
/// Suricata's source) and its counts by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub proto: u8,
    pub first: Endpoint,
    pub second: Endpoint,
    pub counts: RecordCounts,
    /// The record is a tunnel's own connection, of this kind.
    pub carrier: Option<TunnelKind>,
    /// The record is a connection inside a tunnel.
    pub inside: bool,
}

impl Record {
    /// A connection from `first` to `second`, outside any tunnel.
    pub(crate) fn between(
        proto: u8,
        first: (IpAddr, u16),
        second: (IpAddr, u16),
        counts: RecordCounts,
    ) -> Record {
        Record {
            proto,
            first: Endpoint {
                addr: first.0,
                port: first.1,
            },
            second: Endpoint {
                addr: second.0,
                port: second.1,
            },
            counts,
            carrier: None,
            inside: false,
        }
    }
}

/// What a line of a record input is.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A connection.
    Record(Record),
    /// A flow whole, from a portaudit flow file.
    Flow(PackedKey, Box<FlowStats>, Option<Place>),
    /// A flow file's list of the inputs its flows were read from.
    Carried(Vec<crate::ingest::CarriedInput>),
    /// A header, a comment, a blank line: no record.
    Other,
}

/// A reader of one record format's lines, in order (a Zeek header sets
/// how the lines after it read).
pub trait LineReader {
    fn line(&mut self, line: &[u8]) -> Result<Line, LineError>;
}

/// Reads a record input of `format` front to back into its own table,
/// within `opts`' limits; counts go to `stats` (records as its packets).
pub fn read_records(
    format: RecordFormat,
    reader: impl BufRead,
    stats: &mut FileStats,
    opts: &IngestOptions,
) -> FlowTable {
    stats.format = format.label().to_string();
    stats.records = Some(format);
    let mut sink = Sink::new(std::mem::take(stats), opts);
    match format {
        RecordFormat::ZeekTsv => read_lines(zeek::TsvReader::default(), reader, &mut sink),
        RecordFormat::ZeekJson => read_lines(zeek::JsonReader, reader, &mut sink),
        RecordFormat::SuricataEve => read_lines(eve::EveReader, reader, &mut sink),
        RecordFormat::Ipfix | RecordFormat::Netflow => ipfix::read(reader, &mut sink),
        RecordFormat::PortauditNdjson => read_lines(flowfile::NdjsonReader, reader, &mut sink),
        RecordFormat::PortauditParquet => flowfile::read_parquet(reader, &mut sink),
    }
    let (table, read) = sink.finish();
    *stats = read;
    table
}

/// Reads a line-oriented record input into `sink`.
fn read_lines(mut lines: impl LineReader, mut reader: impl BufRead, sink: &mut Sink) {
    let mut buf = Vec::with_capacity(1024);
    let (mut offset, mut number) = (0u64, 0u64);
    loop {
        let read = match next_line(&mut reader, &mut buf) {
            Ok(None) => break,
            Ok(Some(r)) => r,
            Err(e) => {
                sink.unreadable(offset, e);
                break;
            }
        };
        number += 1;
        let start = offset;
        offset += read.consumed as u64;
        let outcome = if read.too_long {
            Err(LineError::new(
                RecordFault::TooLong,
                format!("a line of more than {MAX_LINE} bytes"),
            ))
        } else {
            let line = trim_line_end(&buf);
            match lines.line(line) {
                Err(e) if !read.ended && !line.is_empty() => Err(LineError::new(
                    RecordFault::CutShort,
                    format!("the input ends inside this line ({})", e.why),
                )),
                other => other,
            }
        };
        match outcome {
            Ok(Line::Other) => {}
            Ok(Line::Record(r)) => sink.record(r, start, Some(number)),
            Ok(Line::Flow(key, stats, origin)) => sink.flow(key, *stats, origin),
            Ok(Line::Carried(inputs)) => sink.carried(inputs),
            Err(e) => sink.fault(e, start, Some(number)),
        }
        sink.progress(read.consumed as u64, 1);
    }
}

/// Where a record input's records go: its table, a batch at a time, and
/// its counts, faults by reason with the first few in detail.
pub(crate) struct Sink {
    stats: FileStats,
    opts: IngestOptions,
    table: SequentialTable,
    pending: Vec<KeyedRecord>,
    pending_flows: Vec<(PackedKey, FlowStats)>,
    detailed: usize,
    progress: (u64, u64),
    /// The inputs the flows' origins name: this one (index 0), then those
    /// a flow file's flows came from.
    inputs: Inputs,
}

impl Sink {
    fn new(stats: FileStats, opts: &IngestOptions) -> Sink {
        Sink {
            table: SequentialTable::new(opts.limits).within(opts.frozen.clone()),
            inputs: Inputs::of([stats.as_input()]),
            stats,
            opts: opts.clone(),
            pending: Vec::with_capacity(PENDING),
            pending_flows: Vec::new(),
            detailed: 0,
            progress: (0, 0),
        }
    }

    /// A record read at `offset` (on `line`, for a text input): into the
    /// table, unless `--tunnels` leaves it out.
    pub(crate) fn record(&mut self, r: Record, offset: u64, line: Option<u64>) {
        match self.opts.tunnels {
            TunnelMode::Inner if r.carrier.is_some() => {
                let e = LineError::new(RecordFault::TunnelCarrier, "a tunnel's own connection");
                return self.fault(e, offset, line);
            }
            TunnelMode::Outer if r.inside => {
                let e = LineError::new(RecordFault::InsideTunnel, "a connection inside a tunnel");
                return self.fault(e, offset, line);
            }
            _ => {}
        }
        let bytes = r.counts.bytes[0] + r.counts.bytes[1];
        self.used(bytes, r.counts.first, r.counts.last);
        let (key, first) = PackedKey::of_endpoints(r.proto, r.first, r.second);
        self.pending.push(KeyedRecord {
            key,
            first,
            counts: r.counts,
            carrier: r.carrier.filter(|_| self.opts.tunnels == TunnelMode::Both),
            at: line.unwrap_or(offset),
        });
        if self.pending.len() == PENDING {
            self.flush();
        }
    }

    /// A flow read whole from a flow file, first seen at `origin`: into
    /// the table.
    pub(crate) fn flow(&mut self, key: PackedKey, mut s: FlowStats, origin: Option<Place>) {
        if let Some(place) = origin {
            let input = self.inputs.intern(place.input);
            s.set_origin(Origin::of(input, place.at));
        }
        self.used(s.bytes[0] + s.bytes[1], s.first_ts(), s.last_ts());
        self.pending_flows.push((key, s));
        if self.pending_flows.len() == PENDING {
            self.flush();
        }
    }

    /// The inputs a flow file's flows were read from.
    pub(crate) fn carried(&mut self, inputs: Vec<crate::ingest::CarriedInput>) {
        self.stats.carried.extend(inputs);
    }

    /// Counts a record or flow going into the table: `bytes` both ways,
    /// first and last seen.
    fn used(&mut self, bytes: u64, first: Option<Timestamp>, last: Option<Timestamp>) {
        let stats = &mut self.stats;
        stats.packets_read += 1;
        stats.packets_decoded += 1;
        stats.bytes_read += bytes;
        stats.first_ts = Timestamp::earliest(stats.first_ts, first);
        stats.last_ts = Timestamp::latest(stats.last_ts, last);
        if first.is_none() {
            stats.untimed_packets += 1;
        }
    }

    /// A record (or, for a binary input, a group of them) that could not
    /// be used: counted by reason, the first few damaged ones in detail.
    pub(crate) fn fault(&mut self, e: LineError, offset: u64, line: Option<u64>) {
        self.stats.packets_read += 1;
        *self
            .stats
            .skipped
            .entry(Skip::FlowRecord(e.fault))
            .or_default() += 1;
        if !e.fault.is_damage() {
            return;
        }
        if self.detailed < DETAILED {
            self.detailed += 1;
            self.stats.damage.push(Damage {
                offset,
                kind: DamageKind::Record { line, why: e.why },
            });
        } else {
            self.stats.damaged_records_not_detailed += 1;
        }
    }

    /// The input could not be read on from `offset`.
    pub(crate) fn unreadable(&mut self, offset: u64, e: io::Error) {
        self.stats.damage.push(Damage {
            offset,
            kind: DamageKind::Unreadable {
                compressed: self.stats.compressed,
                error: e.to_string(),
            },
        });
    }

    /// `bytes` of input and `records` read, for `--progress`.
    pub(crate) fn progress(&mut self, bytes: u64, records: u64) {
        let Some(p) = &self.opts.progress else {
            return;
        };
        self.progress.0 += bytes;
        self.progress.1 += records;
        if self.progress.1 >= 65536 {
            p.bytes.fetch_add(self.progress.0, Ordering::Relaxed);
            p.packets.fetch_add(self.progress.1, Ordering::Relaxed);
            self.progress = (0, 0);
        }
    }

    /// `n` records (`unit` 0) or v9 export packets (`unit` 1) that the
    /// exporter's sequence numbers show were sent and never received.
    pub(crate) fn lost(&mut self, unit: usize, n: u64) {
        self.stats.export_lost[unit] += n;
    }

    /// Counted lost, then received late.
    pub(crate) fn found_late(&mut self, unit: usize, n: u64) {
        let lost = &mut self.stats.export_lost[unit];
        *lost = lost.saturating_sub(n);
    }

    /// The file's counts of sampling: the largest interval an export
    /// declared.
    pub(crate) fn sampled(&mut self, interval: u32) {
        if interval > 1 {
            self.stats.sampling = self.stats.sampling.max(Some(interval));
        }
    }

    fn flush(&mut self) {
        let kept_out = self.table.add_records(&self.pending);
        self.stats.unuse(Skip::FlowLimit, kept_out);
        self.pending.clear();
        let kept_out = self.table.add_flows(&self.pending_flows);
        self.stats.unuse(Skip::FlowLimit, kept_out);
        self.pending_flows.clear();
    }

    fn finish(mut self) -> (FlowTable, FileStats) {
        self.flush();
        if let Some(p) = &self.opts.progress {
            p.bytes.fetch_add(self.progress.0, Ordering::Relaxed);
            p.packets.fetch_add(self.progress.1, Ordering::Relaxed);
        }
        let mut table: FlowTable = self.table.into();
        table.set_inputs(self.inputs);
        (table, self.stats)
    }

    /// A copy of the flows so far and the counts, for a live report; the
    /// table keeps growing.
    fn snapshot(&mut self) -> (Flows, FileStats) {
        self.flush();
        let flows = self.table.copy_flows().with_inputs(self.inputs.clone());
        (flows, self.stats.clone())
    }
}

/// One line read: bytes consumed from the input (its newline included),
/// whether it ended with a newline, whether it was too long to hold.
struct ReadLine {
    consumed: usize,
    ended: bool,
    too_long: bool,
}

/// Reads the next line into `buf` (without holding more than
/// [`MAX_LINE`] bytes of it); `None` at the end of the input.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<ReadLine>> {
    buf.clear();
    let mut line = ReadLine {
        consumed: 0,
        ended: false,
        too_long: false,
    };
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((line.consumed > 0).then_some(line));
        }
        let (take, ended) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !line.too_long {
            if buf.len() + take > MAX_LINE + 2 {
                line.too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        reader.consume(take);
        line.consumed += take;
        if ended {
            line.ended = true;
            return Ok(Some(line));
        }
    }
}

/// `line` without its `\n` or `\r\n`.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A time in decimal seconds since the epoch (`1258535653.078597`), to
/// the nanosecond; `None` when it is not one.
pub(crate) fn decimal_seconds(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    // Whole seconds, then up to 9 digits of fraction (more are cut), in
    // one pass; at most 18 digits of whole seconds fit a u64 unchecked.
    let (mut secs, mut nanos, mut whole_digits, mut frac_digits) = (0u64, 0u64, 0usize, 0usize);
    let mut point = false;
    for &b in digits {
        match b {
            b'0'..=b'9' if !point => {
                whole_digits += 1;
                if whole_digits > 18 {
                    return None;
                }
                secs = secs * 10 + u64::from(b - b'0');
            }
            b'0'..=b'9' => {
                if frac_digits < 9 {
                    nanos = nanos * 10 + u64::from(b - b'0');
                }
                frac_digits += 1;
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if whole_digits == 0 && frac_digits == 0 {
        return None;
    }
    for _ in frac_digits.min(9)..9 {
        nanos *= 10;
    }
    let v = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    Some(if negative { -v } else { v })
}

/// A time as RFC 3339 / ISO 8601 text with an offset
/// (`2019-07-10T13:24:49.123456+0000`, `...Z`), to the nanosecond.
pub(crate) fn iso_time(text: &str) -> Option<Timestamp> {
    let t: jiff::Timestamp = text.parse().ok()?;
    Some(Timestamp(t.as_nanosecond()))
}

/// A JSON line read as `T`; `None` for a blank line. `what` names the
/// line in the error.
pub(crate) fn json_line<T: serde::de::DeserializeOwned>(
    line: &[u8],
    what: &str,
) -> Result<Option<T>, LineError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(line)
        .map(Some)
        .map_err(|e| LineError::new(RecordFault::Malformed, format!("not {what}: {e}")))
}

/// An address of a record: dotted IPv4 read in one pass (what the
/// standard parser accepts, no more), anything else by the standard
/// parser.
pub(crate) fn addr(text: &str) -> Option<IpAddr> {
    dotted_quad(text.as_bytes())
        .map(IpAddr::from)
        .or_else(|| text.parse().ok())
}

/// `a.b.c.d`, each 0-255 without leading zeros; `None` for anything else
/// (which the standard parser then judges).
fn dotted_quad(b: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let (mut octet, mut value, mut digits) = (0usize, 0u16, 0usize);
    for &c in b {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None;
                }
                value = value * 10 + u16::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && octet < 3 => {
                out[octet] = value as u8;
                (octet, value, digits) = (octet + 1, 0, 0);
            }
            _ => return None,
        }
    }
    if octet != 3 || digits == 0 {
        return None;
    }
    out[3] = value as u8;
    Some(out)
}

/// The IP protocol number of a record's protocol name (`tcp`, `UDP`,
/// `icmp`, `IPv6-ICMP`...); Zeek and Suricata both write `icmp` for
/// ICMPv6 too, told apart by the address family.
pub(crate) fn proto_number(name: &str, v6: bool) -> Option<u8> {
    use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP};
    let is = |known: &str| name.eq_ignore_ascii_case(known);
    Some(if is("tcp") {
        PROTO_TCP
    } else if is("udp") {
        PROTO_UDP
    } else if is("sctp") {
        PROTO_SCTP
    } else if is("icmp") {
        if v6 {
            PROTO_ICMPV6
        } else {
            PROTO_ICMP
        }
    } else if is("ipv6-icmp") || is("icmpv6") {
        PROTO_ICMPV6
    } else {
        name.parse().ok()?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_to_the_nanosecond() {
        assert_eq!(
            decimal_seconds("1258535653.078597"),
            Some(1_258_535_653_078_597_000)
        );
        assert_eq!(decimal_seconds("12"), Some(12_000_000_000));
        assert_eq!(decimal_seconds("0.000000001"), Some(1));
        assert_eq!(decimal_seconds("-1.5"), Some(-1_500_000_000));
        assert_eq!(decimal_seconds("1.1234567891"), Some(1_123_456_789));
        for bad in ["", ".", "1e9", "x", "1.2.3", "-", "99999999999999999999"] {
            assert_eq!(decimal_seconds(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        /// The one-pass IPv4 reader accepts exactly what the standard
        /// parser accepts, with the same address.
        #[test]
        fn dotted_quads_read_as_std_does(
            text in proptest::string::string_regex("[0-9.]{0,16}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}").unwrap(),
        ) {
            let std = text.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets());
            proptest::prop_assert_eq!(dotted_quad(text.as_bytes()), std, "{:?}", text);
        }
    }

    #[test]
    fn iso_times_with_any_offset() {
        let want = Some(Timestamp(1_562_765_089_123_456_000));
        assert_eq!(iso_time("2019-07-10T13:24:49.123456+0000"), want);
        assert_eq!(iso_time("2019-07-10T13:24:49.123456Z"), want);
        assert_eq!(iso_time("2019-07-10T15:24:49.123456+02:00"), want);
        assert_eq!(iso_time("yesterday"), None);
    }

    #[test]
    fn lines_are_bounded_and_counted() {
        let mut input = vec![b'x'; MAX_LINE * 3];
        input.extend_from_slice(b"\nshort\nlast");
        let mut r = io::BufReader::with_capacity(1000, &input[..]);
        let mut buf = Vec::new();
        let first = next_line(&mut r, &mut buf).unwrap().unwrap();
        assert!(first.too_long && first.ended);
        assert_eq!(first.consumed, MAX_LINE * 3 + 1);
        assert!(buf.len() <= MAX_LINE + 2);
        let second = next_line(&mut r, &mut buf).unwrap().unwrap();
        assert_eq!((&buf[..], second.ended), (&b"short\n"[..], true));
        let third = next_line(&mut r, &mut buf).unwrap().unwrap();
        assert_eq!((&buf[..], third.ended), (&b"last"[..], false));
        assert!(next_line(&mut r, &mut buf).unwrap().is_none());
    }
}
