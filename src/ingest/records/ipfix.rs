//! IPFIX (RFC 7011) and NetFlow v5/v7/v9 (RFC 3954) export messages, one
//! after the other: an IPFIX file (RFC 5655 writes exactly that), or the
//! datagrams a collector received (docs/inputs.md#ipfix-and-netflow).
//!
//! The messages are framed here, by their headers, one at a time (never
//! more than 64 KiB held), and parsed by `netflow_parser`, which keeps the
//! templates (a bounded cache). Each data record names one direction of a
//! flow (or both, for an RFC 5103 biflow with reverse elements); the
//! records of a connection's two directions meet in one flow as records of
//! one key always do. Which side began is evidence only when the record
//! says it: a direction that sent SYN and never ACK is a client nobody
//! answered; a biflow's `biflowDirection` names its initiator. Otherwise
//! the port heuristic decides, and the basis says so.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::net::{IpAddr, SocketAddr};

use netflow_parser::scoped_parser::AutoScopedParser;
use netflow_parser::static_versions::{v5, v7};
use netflow_parser::variable_versions::ipfix::lookup::{
    IANAIPFixField, IPFixField, ReverseInformationElement,
};
use netflow_parser::variable_versions::ipfix::{FlowSetBody as IpfixBody, IPFix};
use netflow_parser::variable_versions::v9::{FlowSetBody as V9Body, V9};
use netflow_parser::{DataNumber, FieldValue, NetflowPacket, NetflowParser, ParseResult};

use super::{LineError, Record, RecordFault, Sink};
use crate::capture::{RecordFormat, Timestamp};
use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::flow::{Flows, InitiatorBasis, RecordCounts};
use crate::ingest::{FileStats, IngestOptions};

/// The largest message: IPFIX's length is 16 bits, and a v9 packet is one
/// UDP datagram.
const MAX_MESSAGE: usize = 65_535;
/// Seconds from the NTP epoch (1900) to the Unix epoch.
const NTP_TO_UNIX: i128 = 2_208_988_800;

/// Reads export messages from `reader` into `sink`.
pub(super) fn read(reader: impl BufRead, sink: &mut Sink) {
    let mut framer = Framer {
        reader,
        carry: Vec::new(),
        offset: 0,
    };
    let mut parser = NetflowParser::default();
    let mut clock = Clock::default();
    let mut msg = Vec::with_capacity(MAX_MESSAGE);
    let mut number = 0u64;
    loop {
        let start = framer.offset;
        let framed = match framer.next(&mut msg) {
            Ok(f) => f,
            Err(e) => {
                sink.unreadable(start, e);
                return;
            }
        };
        number += 1;
        match framed {
            Framed::End => return,
            Framed::Message => {
                sink.progress(msg.len() as u64, 0);
                message(&mut parser, &msg, start, number, &mut clock, sink);
            }
            Framed::Cut { needed } => {
                let why = format!(
                    "message {number}: the input ends inside it ({} of {needed} bytes)",
                    msg.len()
                );
                sink.fault(LineError::new(RecordFault::CutShort, why), start, None);
                return;
            }
            Framed::Lost(why) => {
                let why = format!(
                    "message {number}: {why}; the rest of the input ({} bytes on) is not read",
                    start
                );
                sink.fault(LineError::new(RecordFault::Malformed, why), start, None);
                return;
            }
        }
    }
}

/// What [`Framer::next`] found.
enum Framed {
    End,
    /// A whole message, in the buffer.
    Message,
    /// The input ends inside a message of `needed` bytes.
    Cut {
        needed: usize,
    },
    /// No message header here: the messages cannot be followed further.
    Lost(String),
}

/// Cuts an input into messages by their headers.
struct Framer<R> {
    reader: R,
    /// Bytes read past the last message (a v9 packet's end is known only
    /// when the next header shows).
    carry: Vec<u8>,
    offset: u64,
}

impl<R: BufRead> Framer<R> {
    /// Reads the next message into `msg`.
    fn next(&mut self, msg: &mut Vec<u8>) -> io::Result<Framed> {
        msg.clear();
        msg.append(&mut self.carry);
        if !self.fill(msg, 4)? {
            return Ok(if msg.is_empty() {
                Framed::End
            } else {
                Framed::Cut { needed: 4 }
            });
        }
        let u16_at = |m: &[u8], at: usize| u16::from_be_bytes([m[at], m[at + 1]]);
        let (version, second) = (u16_at(msg, 0), u16_at(msg, 2));
        let needed = match version {
            10 if second >= 16 => usize::from(second),
            10 => return Ok(Framed::Lost(format!("an IPFIX length of {second} bytes"))),
            5 | 7 if (1..=30).contains(&second) => {
                24 + usize::from(second) * if version == 5 { 48 } else { 52 }
            }
            5 | 7 => {
                return Ok(Framed::Lost(format!(
                    "a NetFlow v{version} header counting {second} records (1 to 30 fit)"
                )))
            }
            9 => return self.v9(msg),
            other => {
                return Ok(Framed::Lost(format!(
                    "no NetFlow or IPFIX header (version {other})"
                )))
            }
        };
        Ok(if self.fill(msg, needed)? {
            self.offset += needed as u64;
            Framed::Message
        } else {
            Framed::Cut { needed }
        })
    }

    /// A v9 packet has no length: its sets run until the next header (a
    /// set ID of 5, 7, 9 or 10, all reserved for sets) or the input's end.
    fn v9(&mut self, msg: &mut Vec<u8>) -> io::Result<Framed> {
        if !self.fill(msg, 20)? {
            return Ok(Framed::Cut { needed: 20 });
        }
        loop {
            let at = msg.len();
            if !self.fill(msg, at + 4)? {
                if msg.len() == at {
                    break;
                }
                return Ok(Framed::Cut { needed: at + 4 });
            }
            let id = u16::from_be_bytes([msg[at], msg[at + 1]]);
            if matches!(id, 5 | 7 | 9 | 10) {
                self.carry = msg.split_off(at);
                break;
            }
            let len = usize::from(u16::from_be_bytes([msg[at + 2], msg[at + 3]]));
            if len < 4 {
                return Ok(Framed::Lost(format!("a v9 set {id} of length {len}")));
            }
            if at + len > MAX_MESSAGE {
                return Ok(Framed::Lost(format!(
                    "a v9 packet longer than {MAX_MESSAGE} bytes"
                )));
            }
            if !self.fill(msg, at + len)? {
                return Ok(Framed::Cut { needed: at + len });
            }
        }
        self.offset += msg.len() as u64;
        Ok(Framed::Message)
    }

    /// Reads until `msg` holds `len` bytes; false when the input ends first.
    fn fill(&mut self, msg: &mut Vec<u8>, len: usize) -> io::Result<bool> {
        while msg.len() < len {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(false);
            }
            let take = chunk.len().min(len - msg.len());
            msg.extend_from_slice(&chunk[..take]);
            self.reader.consume(take);
        }
        Ok(true)
    }
}

/// What times of an export mean: an exporter's boot time, for times given
/// as its uptime.
#[derive(Default)]
struct Clock {
    /// IPFIX `systemInitTimeMilliseconds`, from an options or data record.
    boot_ms: Option<i128>,
}

/// Reads one message's records into `sink`.
fn message(
    parser: &mut NetflowParser,
    msg: &[u8],
    offset: u64,
    number: u64,
    clock: &mut Clock,
    sink: &mut Sink,
) {
    records(parser.parse_bytes(msg), offset, number, clock, sink);
}

/// Adds the records of what the parser made of message `number` to `sink`.
fn records(parsed: ParseResult, offset: u64, number: u64, clock: &mut Clock, sink: &mut Sink) {
    for packet in &parsed.packets {
        match packet {
            NetflowPacket::V5(v) => v5_records(v, offset, number, sink),
            NetflowPacket::V7(v) => v7_records(v, offset, number, sink),
            NetflowPacket::V9(v) => v9_records(v, offset, number, sink),
            NetflowPacket::IPFix(v) => ipfix_records(v, offset, number, clock, sink),
            _ => {}
        }
    }
    if let Some(e) = parsed.error {
        let why = format!("message {number}: {e}");
        sink.fault(LineError::new(RecordFault::Malformed, why), offset, None);
    }
}

/// Export messages received live (`portaudit collect`), one per datagram,
/// from any number of exporters. Templates are kept per exporter and
/// observation domain (v9 source ID), as RFC 7011 and RFC 3954 scope them,
/// for at most [`MAX_EXPORTERS`] of them: past that the least recently
/// heard one is forgotten, and its data sets count as
/// `record-no-template` until it sends its templates again.
pub struct Collector {
    sink: Sink,
    parser: AutoScopedParser,
    clocks: HashMap<SocketAddr, Clock>,
    sequences: Sequences,
    /// Bytes received so far: a message's offset in what was received.
    received: u64,
    messages: u64,
}

/// Exporters whose templates a collector keeps at once.
pub const MAX_EXPORTERS: usize = 4096;

impl Collector {
    /// An empty table within `opts.limits`, for the input called `name`.
    pub fn new(name: &str, opts: &IngestOptions) -> Collector {
        let mut stats = FileStats::named(name.to_string());
        stats.format = "IPFIX/NetFlow collector".to_string();
        stats.records = Some(RecordFormat::Ipfix);
        Collector {
            sink: Sink::new(stats, opts),
            parser: AutoScopedParser::new()
                .with_max_sources(MAX_EXPORTERS)
                .expect("a limit above zero"),
            clocks: HashMap::new(),
            sequences: Sequences::default(),
            received: 0,
            messages: 0,
        }
    }

    /// Takes one datagram an exporter at `from` sent.
    pub fn datagram(&mut self, from: SocketAddr, data: &[u8]) {
        let offset = self.received;
        self.received += data.len() as u64;
        self.messages += 1;
        self.sink.progress(data.len() as u64, 0);
        let parsed = self.parser.parse_from_source(from, data);
        if let Some(h) = Sequenced::of(data, &parsed) {
            self.sequences.heard(from, h, &mut self.sink);
        }
        let known = self.clocks.len() < MAX_EXPORTERS || self.clocks.contains_key(&from);
        let mut spare = Clock::default();
        let clock = match known {
            true => self.clocks.entry(from).or_default(),
            // Past the limit an exporter's uptime-based times are read
            // without its boot time, as before its first options record.
            false => &mut spare,
        };
        records(parsed, offset, self.messages, clock, &mut self.sink);
    }

    /// A copy of the flows so far and the counts; the table keeps growing.
    pub fn snapshot(&mut self) -> (Flows, FileStats) {
        self.sink.snapshot()
    }
}

/// What an export message's header says of its place in its exporter's
/// stream: the stream (version and observation domain, v9 source ID or
/// v5 engine), its sequence number, and how far it moves the sequence on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sequenced {
    version: u16,
    domain: u32,
    sequence: u32,
    /// Flows (v5, v7), export packets (v9: 1) or data records (IPFIX);
    /// `None` when it cannot be told (an IPFIX data set without its
    /// template: how many records it holds is in the template).
    count: Option<u32>,
}

impl Sequenced {
    /// Reads the header of `data`; `None` when it is too short or of no
    /// version this reads.
    fn of(data: &[u8], parsed: &ParseResult) -> Option<Sequenced> {
        let u16_at = |at: usize| Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?));
        let version = u16_at(0)?;
        let (sequence, domain, count) = match version {
            5 | 7 => (
                u32_at(16)?,
                u32::from(u16_at(20)?),
                Some(u32::from(u16_at(2)?)),
            ),
            9 => (u32_at(12)?, u32_at(16)?, Some(1)),
            10 => {
                let mut records = Some(0usize);
                for packet in &parsed.packets {
                    let NetflowPacket::IPFix(v) = packet else {
                        continue;
                    };
                    for set in &v.flowsets {
                        let n = match &set.body {
                            IpfixBody::Data(d) => Some(d.fields.len()),
                            IpfixBody::V9Data(d) => Some(d.fields.len()),
                            IpfixBody::OptionsData(d) => Some(d.fields.len()),
                            IpfixBody::NoTemplate(_) => None,
                            _ => Some(0),
                        };
                        records = records.zip(n).map(|(a, b)| a + b);
                    }
                }
                let count = records.and_then(|n| u32::try_from(n).ok());
                (u32_at(8)?, u32_at(12)?, count)
            }
            _ => return None,
        };
        Some(Sequenced {
            version,
            domain,
            sequence,
            count,
        })
    }
}

/// The sequence each exporter's stream is at, so that what never arrived
/// (lost on the way, or dropped by a full socket buffer) is counted from
/// the gaps: RFC 7011 and RFC 3954 number messages for exactly this.
#[derive(Default)]
struct Sequences {
    next: HashMap<(SocketAddr, u16, u32), u32>,
}

/// A jump of more than this (either way) is an exporter that restarted,
/// not a loss.
const SEQUENCE_WINDOW: u32 = 1 << 20;

impl Sequences {
    fn heard(&mut self, from: SocketAddr, h: Sequenced, sink: &mut Sink) {
        let key = (from, h.version, h.domain);
        let Some(count) = h.count else {
            // Where the stream goes on is unknown: its next message
            // starts the count again (the records of this one are
            // counted as record-no-template, not as lost).
            self.next.remove(&key);
            return;
        };
        let after = h.sequence.wrapping_add(count);
        let Some(next) = self.next.get_mut(&key) else {
            // Bounded as the exporters' templates are: past the limit a
            // new stream's gaps are not counted.
            if self.next.len() < MAX_EXPORTERS {
                self.next.insert(key, after);
            }
            return;
        };
        let ahead = h.sequence.wrapping_sub(*next);
        let behind = next.wrapping_sub(h.sequence);
        let unit = usize::from(h.version == 9);
        if ahead == 0 {
            *next = after;
        } else if ahead < SEQUENCE_WINDOW {
            sink.lost(unit, u64::from(ahead));
            *next = after;
        } else if behind <= SEQUENCE_WINDOW {
            // Late (reordered on the way): it was counted lost when the
            // gap showed, and has come after all.
            sink.found_late(unit, u64::from(count));
        } else {
            *next = after;
        }
    }
}

/// A v5 or v7 record's fields, which are fixed.
struct Fixed {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    proto: u8,
    packets: u32,
    octets: u32,
    first: u32,
    last: u32,
    flags: u8,
}

/// A v5/v7 header's time base: the exporter's boot, in milliseconds.
fn boot_ms(unix_secs: u32, unix_nsecs: u32, uptime: u32) -> i128 {
    i128::from(unix_secs) * 1000 + i128::from(unix_nsecs / 1_000_000) - i128::from(uptime)
}

/// A v5 or v7 record's fields (their types differ, their names do not).
macro_rules! fixed {
    ($f:expr) => {
        Fixed {
            src: $f.src_addr.into(),
            dst: $f.dst_addr.into(),
            src_port: $f.src_port,
            dst_port: $f.dst_port,
            proto: $f.protocol_number,
            packets: $f.d_pkts,
            octets: $f.d_octets,
            first: $f.first,
            last: $f.last,
            flags: $f.tcp_flags,
        }
    };
}

fn v5_records(v: &v5::V5, offset: u64, number: u64, sink: &mut Sink) {
    let h = &v.header;
    // The top two bits are the sampling mode, the rest the interval.
    sink.sampled(u32::from(h.sampling_interval & 0x3FFF));
    let boot = boot_ms(h.unix_secs, h.unix_nsecs, h.sys_up_time);
    for f in &v.flowsets {
        emit(fixed_fields(&fixed!(f)), Some(boot), offset, number, sink);
    }
}

fn v7_records(v: &v7::V7, offset: u64, number: u64, sink: &mut Sink) {
    let h = &v.header;
    let boot = boot_ms(h.unix_secs, h.unix_nsecs, h.sys_up_time);
    for f in &v.flowsets {
        emit(fixed_fields(&fixed!(f)), Some(boot), offset, number, sink);
    }
}

fn fixed_fields(f: &Fixed) -> Fields {
    Fields {
        src: Some(f.src),
        dst: Some(f.dst),
        src_port: Some(f.src_port),
        dst_port: Some(f.dst_port),
        proto: Some(f.proto),
        packets: Some(u64::from(f.packets)),
        octets: Some(u64::from(f.octets)),
        flags: Some(u16::from(f.flags)),
        start_up: Some(u64::from(f.first)),
        end_up: Some(u64::from(f.last)),
        ..Fields::default()
    }
}

fn v9_records(v: &V9, offset: u64, number: u64, sink: &mut Sink) {
    let boot = i128::from(v.header.unix_secs) * 1000 - i128::from(v.header.sys_up_time);
    for set in &v.flowsets {
        match &set.body {
            V9Body::Data(d) => {
                for r in &d.fields {
                    let mut f = Fields::default();
                    for (field, value) in r {
                        f.take(u16::from(*field), false, value);
                    }
                    emit(f, Some(boot), offset, number, sink);
                }
            }
            V9Body::OptionsData(d) => {
                for r in &d.fields {
                    let mut f = Fields::default();
                    for (field, value) in &r.options_fields {
                        f.take(u16::from(*field), false, value);
                    }
                    if let Some(n) = f.sampling() {
                        sink.sampled(n);
                    }
                }
            }
            V9Body::NoTemplate(t) => no_template(t.template_id, offset, number, sink),
            _ => {}
        }
    }
}

fn ipfix_records(v: &IPFix, offset: u64, number: u64, clock: &mut Clock, sink: &mut Sink) {
    for set in &v.flowsets {
        match &set.body {
            IpfixBody::Data(d) => {
                for r in &d.fields {
                    let mut f = Fields::default();
                    for (field, value) in r {
                        if let Some((id, reverse)) = ipfix_id(field) {
                            f.take(id, reverse, value);
                        }
                    }
                    if let Some(ms) = f.boot_ms {
                        clock.boot_ms = Some(ms);
                    }
                    emit(f, clock.boot_ms, offset, number, sink);
                }
            }
            IpfixBody::V9Data(d) => {
                for r in &d.fields {
                    let mut f = Fields::default();
                    for (field, value) in r {
                        f.take(u16::from(*field), false, value);
                    }
                    emit(f, clock.boot_ms, offset, number, sink);
                }
            }
            IpfixBody::OptionsData(d) => {
                for r in &d.fields {
                    let mut f = Fields::default();
                    for (field, value) in r {
                        if let Some((id, false)) = ipfix_id(field) {
                            f.take(id, false, value);
                        }
                    }
                    if let Some(n) = f.sampling() {
                        sink.sampled(n);
                    }
                    if let Some(ms) = f.boot_ms {
                        clock.boot_ms = Some(ms);
                    }
                }
            }
            IpfixBody::NoTemplate(t) => no_template(t.template_id, offset, number, sink),
            _ => {}
        }
    }
}

/// A data set whose template was never seen (the export was caught after
/// its templates were sent): its records cannot be read.
fn no_template(id: u16, offset: u64, number: u64, sink: &mut Sink) {
    let why = format!(
        "message {number}: a data set of template {id}, which was not defined before it: \
         its records cannot be read"
    );
    sink.fault(LineError::new(RecordFault::NoTemplate, why), offset, None);
}

/// Adds a data record to `sink`, or counts why it cannot be.
fn emit(f: Fields, boot_ms: Option<i128>, offset: u64, number: u64, sink: &mut Sink) {
    if let Some(n) = f.sampling() {
        sink.sampled(n);
    }
    match f.record(boot_ms) {
        Ok(r) => sink.record(r, offset, None),
        Err(mut e) => {
            e.why = format!("message {number}: {}", e.why);
            sink.fault(e, offset, None);
        }
    }
}

/// The IANA number of an IPFIX element portaudit reads, and whether it is
/// the reverse one (RFC 5103, enterprise 29305).
fn ipfix_id(field: &IPFixField) -> Option<(u16, bool)> {
    use IANAIPFixField as I;
    use ReverseInformationElement as R;
    Some(match field {
        IPFixField::IANA(f) => (
            match f {
                I::OctetDeltaCount => 1,
                I::PacketDeltaCount => 2,
                I::ProtocolIdentifier => 4,
                I::TcpControlBits => 6,
                I::SourceTransportPort => 7,
                I::SourceIpv4address => 8,
                I::DestinationTransportPort => 11,
                I::DestinationIpv4address => 12,
                I::FlowEndSysUpTime => 21,
                I::FlowStartSysUpTime => 22,
                I::SourceIpv6address => 27,
                I::DestinationIpv6address => 28,
                I::IcmpTypeCodeIpv4 => 32,
                I::SamplingInterval => 34,
                I::IcmpTypeCodeIpv6 => 139,
                I::FlowStartSeconds => 150,
                I::FlowEndSeconds => 151,
                I::FlowStartMilliseconds => 152,
                I::FlowEndMilliseconds => 153,
                I::FlowStartMicroseconds => 154,
                I::FlowEndMicroseconds => 155,
                I::FlowStartNanoseconds => 156,
                I::FlowEndNanoseconds => 157,
                I::SystemInitTimeMilliseconds => 160,
                I::BiflowDirection => 239,
                I::SamplerRandomInterval => 50,
                I::SamplingPacketInterval => 305,
                I::SamplingPacketSpace => 306,
                _ => return None,
            },
            false,
        ),
        IPFixField::ReverseInformationElement(f) => (
            match f {
                R::ReverseOctetDeltaCount => 1,
                R::ReversePacketDeltaCount => 2,
                R::ReverseTcpControlBits => 6,
                _ => return None,
            },
            true,
        ),
        _ => return None,
    })
}

/// The fields of one data record portaudit reads, by IANA element (NetFlow
/// v9's field types are the same numbers).
#[derive(Default)]
struct Fields {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    proto: Option<u8>,
    packets: Option<u64>,
    octets: Option<u64>,
    reverse_packets: Option<u64>,
    reverse_octets: Option<u64>,
    flags: Option<u16>,
    reverse_flags: Option<u16>,
    /// Absolute times, nanoseconds since the epoch.
    start: Option<i128>,
    end: Option<i128>,
    /// Times as the exporter's uptime, milliseconds.
    start_up: Option<u64>,
    end_up: Option<u64>,
    icmp: Option<u16>,
    biflow_direction: Option<u64>,
    /// samplingInterval (34) or samplerRandomInterval (50): 1 in N.
    sampling_interval: Option<u64>,
    /// PSAMP's systematic count-based sampling (RFC 5476):
    /// samplingPacketInterval (305) packets taken, samplingPacketSpace
    /// (306) skipped.
    packets_taken: Option<u64>,
    packets_skipped: Option<u64>,
    boot_ms: Option<i128>,
}

impl Fields {
    /// Keeps element `id`'s value (the reverse one's, if `reverse`).
    fn take(&mut self, id: u16, reverse: bool, v: &FieldValue) {
        if reverse {
            match id {
                1 => self.reverse_octets = number(v),
                2 => self.reverse_packets = number(v),
                6 => self.reverse_flags = number(v).and_then(|n| u16::try_from(n).ok()),
                _ => {}
            }
            return;
        }
        let port = |v: &FieldValue| number(v).and_then(|n| u16::try_from(n).ok());
        match id {
            1 => self.octets = number(v),
            2 => self.packets = number(v),
            4 => self.proto = number(v).and_then(|n| u8::try_from(n).ok()),
            6 => self.flags = port(v),
            7 => self.src_port = port(v),
            8 | 27 => self.src = address(v),
            11 => self.dst_port = port(v),
            12 | 28 => self.dst = address(v),
            21 => self.end_up = number(v),
            22 => self.start_up = number(v),
            32 | 139 => self.icmp = port(v),
            150..=157 => {
                let t = absolute_ns(v);
                if id % 2 == 0 {
                    self.start = self.start.or(t);
                } else {
                    self.end = self.end.or(t);
                }
            }
            160 => self.boot_ms = absolute_ns(v).map(|ns| ns / 1_000_000),
            239 => self.biflow_direction = number(v),
            34 | 50 => self.sampling_interval = number(v),
            305 => self.packets_taken = number(v),
            306 => self.packets_skipped = number(v),
            _ => {}
        }
    }

    /// The sampling these fields declare: 1 packet in N.
    fn sampling(&self) -> Option<u32> {
        let n = match (self.sampling_interval, self.packets_taken) {
            (Some(n), _) => n,
            (None, Some(taken)) if taken > 0 => {
                (taken + self.packets_skipped.unwrap_or_default()).div_ceil(taken)
            }
            _ => return None,
        };
        Some(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The record these fields make; `boot_ms` turns uptime times into
    /// times.
    fn record(&self, boot_ms: Option<i128>) -> Result<Record, LineError> {
        let missing = |what: &str| {
            LineError::new(
                RecordFault::MissingField,
                format!("a data record without {what}"),
            )
        };
        let mut src = self.src.ok_or_else(|| missing("a source address"))?;
        let mut dst = self.dst.ok_or_else(|| missing("a destination address"))?;
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(LineError::new(
                RecordFault::BadValue,
                "a data record with an IPv4 and an IPv6 address",
            ));
        }
        let proto = self.proto.ok_or_else(|| missing("a protocol"))?;
        let (mut src_port, mut dst_port) = if proto == PROTO_ICMP || proto == PROTO_ICMPV6 {
            // Type and code, as the flow key holds them; NetFlow v5/v9
            // put them in the destination port.
            let tc = self.icmp.or(self.dst_port).unwrap_or_default();
            (tc >> 8, tc & 0xFF)
        } else {
            (
                self.src_port.unwrap_or_default(),
                self.dst_port.unwrap_or_default(),
            )
        };
        let time = |abs: Option<i128>, up: Option<u64>| {
            abs.or_else(|| Some((boot_ms? + i128::from(up?)) * 1_000_000))
                .map(Timestamp)
        };
        let tcp = proto == PROTO_TCP;
        let whole = self.reverse_packets.is_some() || self.reverse_octets.is_some();
        let mut counts = RecordCounts {
            packets: [
                self.packets.unwrap_or_default(),
                self.reverse_packets.unwrap_or_default(),
            ],
            bytes: [
                self.octets.unwrap_or_default(),
                self.reverse_octets.unwrap_or_default(),
            ],
            tcp,
            first: time(self.start, self.start_up),
            last: None,
            basis: None,
            whole,
            ..RecordCounts::default()
        };
        counts.last = time(self.end, self.end_up).or(counts.first);
        // RFC 5103's biflowDirection: 1, the source is the initiator; 2,
        // the destination is. Without it a biflow's sides are the
        // exporter's arbitrary order (softflowd sorts by address).
        let initiator = if whole { self.biflow_direction } else { None };
        let mut flags = [
            self.flags.unwrap_or_default(),
            self.reverse_flags.unwrap_or_default(),
        ];
        if initiator == Some(2) {
            std::mem::swap(&mut src, &mut dst);
            std::mem::swap(&mut src_port, &mut dst_port);
            counts.packets.swap(0, 1);
            counts.bytes.swap(0, 1);
            flags.swap(0, 1);
        }
        if matches!(initiator, Some(1 | 2)) {
            counts.basis = Some(InitiatorBasis::Record);
        }
        if tcp {
            let known = counts.basis.is_some();
            for (side, f) in flags.into_iter().enumerate() {
                let f = f as u8;
                counts.fins[side] = u32::from(f & TCP_FIN != 0);
                counts.rsts[side] = u32::from(f & TCP_RST != 0);
                if f & TCP_SYN == 0 {
                    continue;
                }
                if f & TCP_ACK == 0 {
                    // A SYN and never an ACK: a client nobody answered.
                    counts.syns[side] = 1;
                } else if known {
                    // Both ORed SYN and ACK: with the initiator named,
                    // its SYN opened and the other side's answered.
                    if side == 0 {
                        counts.syns[0] = 1;
                    } else {
                        counts.synacks[1] = 1;
                    }
                } else if !whole {
                    // One direction's SYN among ACKs: a SYN or a SYN-ACK,
                    // which the other direction's record will tell by
                    // which began first.
                    counts.opened[side] = true;
                }
            }
        }
        Ok(Record::between(
            proto,
            (src, src_port),
            (dst, dst_port),
            counts,
        ))
    }
}

/// A field's value as an unsigned number, whatever its width.
fn number(v: &FieldValue) -> Option<u64> {
    match v {
        FieldValue::DataNumber(DataNumber::Vec(bytes)) | FieldValue::Vec(bytes)
            if bytes.len() <= 8 =>
        {
            Some(bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b)))
        }
        FieldValue::DataNumber(n) => n.as_u64(),
        FieldValue::Duration(d) => {
            use netflow_parser::variable_versions::field_value::DurationValue as D;
            match d {
                D::Seconds { value, .. } | D::Millis { value, .. } => Some(*value),
                _ => None,
            }
        }
        FieldValue::ProtocolType(p) => Some(u64::from(u8::from(*p))),
        FieldValue::TcpControlBits(bits, _) => Some(u64::from(u16::from(*bits))),
        _ => None,
    }
}

/// A field's value as an address.
fn address(v: &FieldValue) -> Option<IpAddr> {
    match v {
        FieldValue::Ip4Addr(a) => Some((*a).into()),
        FieldValue::Ip6Addr(a) => Some((*a).into()),
        _ => None,
    }
}

/// An absolute time element (flowStart/End Seconds, Milliseconds,
/// Microseconds, Nanoseconds; systemInitTimeMilliseconds) in nanoseconds
/// since the epoch.
fn absolute_ns(v: &FieldValue) -> Option<i128> {
    use netflow_parser::variable_versions::field_value::DurationValue as D;
    let FieldValue::Duration(d) = v else {
        return None;
    };
    Some(match *d {
        D::Seconds { value, .. } => i128::from(value) * 1_000_000_000,
        D::Millis { value, .. } => i128::from(value) * 1_000_000,
        D::MicrosNtp { seconds, fraction } | D::NanosNtp { seconds, fraction } => {
            (i128::from(seconds) - NTP_TO_UNIX) * 1_000_000_000
                + ((i128::from(fraction) * 1_000_000_000) >> 32)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::RecordFormat;
    use crate::flow::Dir;
    use crate::ingest::{FileStats, IngestOptions};

    /// An IPFIX message of `sets` (set ID, body).
    fn ipfix(sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let body: Vec<u8> = sets
            .iter()
            .flat_map(|(id, b)| {
                let mut s = id.to_be_bytes().to_vec();
                s.extend_from_slice(&(4 + b.len() as u16).to_be_bytes());
                s.extend_from_slice(b);
                s
            })
            .collect();
        let mut m = vec![0, 10];
        m.extend_from_slice(&(16 + body.len() as u16).to_be_bytes());
        m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        m.extend(body);
        m
    }

    /// A template set's body: template `id` with fields (element, length,
    /// enterprise).
    fn template(id: u16, fields: &[(u16, u16, Option<u32>)]) -> Vec<u8> {
        let mut b = id.to_be_bytes().to_vec();
        b.extend_from_slice(&(fields.len() as u16).to_be_bytes());
        for &(e, len, pen) in fields {
            let e = if pen.is_some() { e | 0x8000 } else { e };
            b.extend_from_slice(&e.to_be_bytes());
            b.extend_from_slice(&len.to_be_bytes());
            if let Some(p) = pen {
                b.extend_from_slice(&p.to_be_bytes());
            }
        }
        b
    }

    /// A biflow template: addresses, ports, protocol, packets both ways,
    /// TCP flags both ways, flowStartMilliseconds, biflowDirection.
    const BIFLOW: [(u16, u16, Option<u32>); 11] = [
        (8, 4, None),
        (12, 4, None),
        (7, 2, None),
        (11, 2, None),
        (4, 1, None),
        (2, 4, None),
        (2, 4, Some(29305)),
        (6, 1, None),
        (6, 1, Some(29305)),
        (152, 8, None),
        (239, 1, None),
    ];

    fn biflow_record(direction: u8) -> Vec<u8> {
        let mut r = vec![10, 0, 0, 9, 10, 0, 0, 5, 0x01, 0xBB, 0xC3, 0x50, 6];
        r.extend_from_slice(&3u32.to_be_bytes());
        r.extend_from_slice(&4u32.to_be_bytes());
        r.extend_from_slice(&[0x1B, 0x1B]);
        r.extend_from_slice(&1_700_000_000_123u64.to_be_bytes());
        r.push(direction);
        r
    }

    fn read(input: &[u8]) -> (crate::flow::FlowTable, FileStats) {
        let mut stats = FileStats::named("test".to_string());
        let table = super::super::read_records(
            RecordFormat::sniff(input).expect("an export"),
            input,
            &mut stats,
            &IngestOptions::default(),
        );
        (table, stats)
    }

    #[test]
    fn a_biflow_names_its_initiator() {
        for (direction, client_port) in [(1u8, 443u16), (2, 50000)] {
            let msg = ipfix(&[(2, template(256, &BIFLOW)), (256, biflow_record(direction))]);
            let (table, stats) = read(&msg);
            assert_eq!((stats.packets_read, stats.packets_decoded), (1, 1));
            assert!(stats.damage.is_empty(), "{:?}", stats.damage);
            let flows = table.finish();
            let f = flows.iter().next().unwrap();
            let dir = f.1.first_syn_dir.unwrap();
            let client = if dir == Dir::AtoB { f.0.a } else { f.0.b };
            assert_eq!(client.port, client_port, "biflowDirection {direction}");
            assert_eq!(
                f.1.packets[dir.index()] + f.1.packets[dir.reverse().index()],
                7
            );
        }
    }

    /// `msg` with sequence number `seq`.
    fn numbered(mut msg: Vec<u8>, seq: u32) -> Vec<u8> {
        msg[8..12].copy_from_slice(&seq.to_be_bytes());
        msg
    }

    #[test]
    fn a_collector_keeps_each_exporters_templates_apart() {
        let (a, b): (SocketAddr, SocketAddr) = (
            "192.0.2.1:4739".parse().unwrap(),
            "192.0.2.2:4739".parse().unwrap(),
        );
        let mut c = Collector::new("udp/test", &IngestOptions::default());
        c.datagram(a, &ipfix(&[(2, template(256, &BIFLOW))]));
        c.datagram(b, &numbered(ipfix(&[(256, biflow_record(1))]), 0));
        c.datagram(a, &ipfix(&[(256, biflow_record(1))]));
        let (flows, stats) = c.snapshot();
        assert_eq!((stats.packets_read, stats.packets_decoded), (2, 1));
        let skip = crate::ingest::Skip::FlowRecord(RecordFault::NoTemplate);
        assert_eq!(stats.skipped.get(&skip), Some(&1));
        assert_eq!(flows.len(), 1);
        assert_eq!(stats.export_lost, [0, 0]);
    }

    #[test]
    fn a_collector_counts_what_sequence_numbers_show_lost() {
        let a: SocketAddr = "192.0.2.1:4739".parse().unwrap();
        let mut c = Collector::new("udp/test", &IngestOptions::default());
        let data = |seq| numbered(ipfix(&[(256, biflow_record(1))]), seq);
        // A template set moves the sequence on by no data record.
        c.datagram(a, &numbered(ipfix(&[(2, template(256, &BIFLOW))]), 0));
        c.datagram(a, &data(0));
        c.datagram(a, &data(3));
        assert_eq!(c.snapshot().1.export_lost, [2, 0], "records 1 and 2");
        c.datagram(a, &data(1));
        let (_, stats) = c.snapshot();
        assert_eq!(stats.export_lost, [1, 0], "record 1 came late");
        assert!(stats.incomplete_note().unwrap().contains("1 records"));
        // A data set without its template holds an unknown number of
        // records: counted as record-no-template, and the count starts
        // again after it.
        let b: SocketAddr = "192.0.2.2:4739".parse().unwrap();
        c.datagram(b, &numbered(ipfix(&[(2, template(256, &BIFLOW))]), 0));
        c.datagram(b, &numbered(ipfix(&[(257, biflow_record(1))]), 0));
        c.datagram(b, &numbered(ipfix(&[(256, biflow_record(1))]), 1));
        assert_eq!(c.snapshot().1.export_lost, [1, 0], "b lost nothing");
        // An exporter that restarted begins again: no loss.
        c.datagram(a, &data(2_000_000_000));
        c.datagram(a, &data(2_000_000_001));
        assert_eq!(c.snapshot().1.export_lost, [1, 0]);
        assert_eq!(c.snapshot().1.packets_decoded, 6);
    }

    #[test]
    fn without_its_template_a_data_set_is_counted() {
        let msg = ipfix(&[(256, biflow_record(1))]);
        let (_, stats) = read(&msg);
        assert_eq!(stats.packets_decoded, 0);
        let skip = crate::ingest::Skip::FlowRecord(RecordFault::NoTemplate);
        assert_eq!(stats.skipped.get(&skip), Some(&1));
        assert!(
            stats.damage[0].kind.to_string().contains("template 256"),
            "{:?}",
            stats.damage
        );
    }

    #[test]
    fn a_cut_message_and_lost_framing_are_damage_at_their_offset() {
        let one = ipfix(&[(2, template(256, &BIFLOW)), (256, biflow_record(1))]);
        let mut input = one.clone();
        input.extend_from_slice(&one[..20]);
        let (_, stats) = read(&input);
        assert_eq!(stats.packets_decoded, 1);
        assert_eq!(stats.damage.len(), 1);
        assert_eq!(stats.damage[0].offset, one.len() as u64);
        assert!(stats.damage[0].kind.to_string().contains("ends inside"));

        let mut input = one.clone();
        input.extend_from_slice(b"garbage that is no header");
        let (_, stats) = read(&input);
        assert_eq!(stats.packets_decoded, 1);
        let why = stats.damage[0].kind.to_string();
        assert!(why.contains("no NetFlow or IPFIX header"), "{why}");
    }

    #[test]
    fn sampling_is_declared_by_interval_or_by_packets_taken_and_skipped() {
        let mut f = Fields::default();
        assert_eq!(f.sampling(), None);
        f.packets_taken = Some(1);
        f.packets_skipped = Some(3);
        assert_eq!(f.sampling(), Some(4));
        f.sampling_interval = Some(100);
        assert_eq!(f.sampling(), Some(100));
    }

    #[test]
    fn v9_packets_follow_one_another_without_lengths() {
        let data = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/records/softflowd-v9.netflow"),
        )
        .unwrap();
        let mut framer = Framer {
            reader: &data[..],
            carry: Vec::new(),
            offset: 0,
        };
        let mut msg = Vec::new();
        let mut total = 0;
        loop {
            match framer.next(&mut msg).unwrap() {
                Framed::Message => {
                    assert_eq!(&msg[..2], &[0, 9]);
                    total += msg.len();
                }
                Framed::End => break,
                _ => panic!("framing lost at {total}"),
            }
        }
        assert_eq!(total, data.len());
    }

    #[test]
    fn icmp_type_and_code_are_the_ports() {
        let f = Fields {
            src: Some("10.0.0.1".parse().unwrap()),
            dst: Some("10.0.0.2".parse().unwrap()),
            proto: Some(PROTO_ICMP),
            dst_port: Some(0x0800),
            ..Fields::default()
        };
        let r = f.record(None).unwrap();
        assert_eq!((r.first.port, r.second.port), (8, 0));
        assert_eq!(r.counts.first, None);
        let no_proto = Fields { proto: None, ..f };
        assert_eq!(
            no_proto.record(None).unwrap_err().fault,
            RecordFault::MissingField
        );
    }
}
