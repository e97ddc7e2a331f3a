//! What a flow table keeps per key: a summary of the key's packets in
//! capture order that two adjacent summaries can be merged into, so that a
//! capture split into any segments, decoded on any number of threads, gives
//! exactly the flows of a single sequential pass.

use crate::capture::Timestamp;
use crate::decode::{
    App, Ask, Encap, Heard, Hello, Tunnel, TunnelKind, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN,
};

use super::key::Dir;
use super::origin::Origin;
use super::resolve::InitiatorBasis;

/// Connection counting as a mergeable summary. The sequential machine is:
/// state Closed or Open(isn); a SYN (without ACK) whose ISN differs from the
/// open connection's, or that arrives when none is open, starts a new
/// connection; a FIN or RST closes. A segment's effect depends on the state
/// it starts in only through its first event, so it is kept apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnCount {
    first: Event,
    /// Connections started after the first event.
    rest: u32,
    /// State after the last event.
    open: Option<u32>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Event {
    #[default]
    None,
    Close,
    Syn(u32),
}

impl ConnCount {
    fn push(&mut self, e: Event) {
        match (self.first, e) {
            (_, Event::None) => {}
            (Event::None, _) => {
                self.first = e;
                self.open = match e {
                    Event::Syn(isn) => Some(isn),
                    _ => None,
                };
            }
            (_, Event::Close) => self.open = None,
            (_, Event::Syn(isn)) => {
                if self.open != Some(isn) {
                    self.rest += 1;
                }
                self.open = Some(isn);
            }
        }
    }

    fn merge(&mut self, right: &ConnCount) {
        match (self.first, right.first) {
            (_, Event::None) => {}
            (Event::None, _) => *self = *right,
            (_, r_first) => {
                let starts = match r_first {
                    Event::Syn(isn) => u32::from(self.open != Some(isn)),
                    _ => 0,
                };
                self.rest += starts + right.rest;
                self.open = right.open;
            }
        }
    }

    /// Connections counted from the start of the capture.
    pub fn total(&self) -> u32 {
        match self.first {
            Event::Syn(_) => 1 + self.rest,
            _ => self.rest,
        }
    }
}

/// An optional timestamp in 16 bytes aligned to 8, where an
/// `Option<Timestamp>` takes 32 aligned to 16: a flow's two times then
/// cost a quarter of its record instead of two fifths. No capture yields
/// `i128::MIN` nanoseconds, which stands for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    high: i64,
    low: u64,
}

impl Stamp {
    const NONE: Stamp = Stamp::of(i128::MIN);

    const fn of(v: i128) -> Stamp {
        Stamp {
            high: (v >> 64) as i64,
            low: v as u64,
        }
    }

    #[inline]
    fn get(self) -> Option<Timestamp> {
        let v = (i128::from(self.high) << 64) | i128::from(self.low);
        (v != i128::MIN).then_some(Timestamp(v))
    }

    #[inline]
    fn set(t: Option<Timestamp>) -> Stamp {
        t.map_or(Stamp::NONE, |t| Stamp::of(t.0))
    }
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp::NONE
    }
}

/// Per-flow counters, indexed by [`Dir`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    first_ts: Stamp,
    last_ts: Stamp,
    /// Direction of the first packet in capture order.
    pub first_dir: Option<Dir>,
    /// Direction of the first SYN without ACK.
    pub first_syn_dir: Option<Dir>,
    /// Direction of the first SYN-ACK.
    pub first_synack_dir: Option<Dir>,
    /// What each direction's first payload said of its sender, by
    /// [`Dir::index`] ([`FlowStats::first_ask_dir`]).
    asks: [Ask; 2],
    /// Direction of the first payload.
    first_payload_dir: Option<Dir>,
    /// The application protocol of each direction's first payload
    /// ([`App::None`] until one is seen).
    pub apps: [App; 2],
    pub syns: [u32; 2],
    pub synacks: [u32; 2],
    pub rsts: [u32; 2],
    pub fins: [u32; 2],
    pub conns: ConnCount,
    /// What few flows have (a tunnel, a flow record's word on its
    /// initiator), behind one pointer: other flows pay 8 bytes for it.
    extra: Option<Box<FlowExtra>>,
    /// The flow is the outer flow of tunnels of this kind
    /// (`--tunnels both`).
    pub carrier: Option<TunnelKind>,
    /// Where the flow was first seen.
    origin: Origin,
}

/// The part of [`FlowStats`] that only tunnelled flows and flows read
/// from flow records have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FlowExtra {
    /// The tunnel the flow's first tunnelled packet came through.
    tunnel: Option<Tunnel>,
    /// The initiator the flow's first record named, and on what basis
    /// (docs/inputs.md).
    declared: Option<(Dir, InitiatorBasis)>,
    /// When each direction's first record that ORed a SYN with ACKs began
    /// (one-direction records: NetFlow, IPFIX), by [`Dir::index`].
    opened_at: [Option<Timestamp>; 2],
    /// What each direction's first payload named (TLS SNI and ALPN,
    /// HTTP `Host`) and said, quoted where its protocol was off its own
    /// ports ([`crate::decode::listen`]), by [`Dir::index`].
    hello: [Hello; 2],
}

/// What one flow record (a Zeek conn.log line, a Suricata flow event)
/// says of one connection, by side: index 0 is the side the record names
/// first (Zeek's originator, Suricata's source), 1 the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordCounts {
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// TCP segments seen per side, as far as the record tells (Zeek's
    /// history letters, Suricata's flags): SYN without ACK, SYN-ACK, FIN,
    /// RST.
    pub syns: [u32; 2],
    pub synacks: [u32; 2],
    pub fins: [u32; 2],
    pub rsts: [u32; 2],
    /// The record is a TCP connection.
    pub tcp: bool,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// How the record knew its first side was the initiator, when the
    /// TCP flags do not say; `None`: it does not (a NetFlow record is one
    /// direction, its source no more the client than its destination).
    pub basis: Option<InitiatorBasis>,
    /// The application protocol the engine found (Zeek's `service`,
    /// Suricata's `app_proto`): the protocol of each side that sent.
    pub app: Option<App>,
    /// The record is a whole connection, both directions (Zeek, EVE
    /// `flow`); `false` for one direction of one (NetFlow, IPFIX, EVE
    /// `netflow`), which starts no connection of its own.
    pub whole: bool,
    /// The side sent a SYN and ACKs, ORed in one record: it opened the
    /// connection or answered the opening. When both directions' records
    /// say so, the one that began first sent the SYN.
    pub opened: [bool; 2],
}

impl Default for RecordCounts {
    fn default() -> Self {
        RecordCounts {
            packets: [0; 2],
            bytes: [0; 2],
            syns: [0; 2],
            synacks: [0; 2],
            fins: [0; 2],
            rsts: [0; 2],
            tcp: false,
            first: None,
            last: None,
            basis: Some(InitiatorBasis::Record),
            app: None,
            whole: true,
            opened: [false; 2],
        }
    }
}

impl FlowStats {
    /// No packet yet, first seen at `origin`.
    #[inline]
    pub fn starting(origin: Origin) -> FlowStats {
        FlowStats {
            origin,
            ..FlowStats::default()
        }
    }

    /// Where the flow was first seen (none: a flow built by hand).
    #[inline]
    pub fn origin(&self) -> Origin {
        self.origin
    }

    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    /// Adds one packet (capture order matters; see the module comment).
    #[inline]
    pub fn add(&mut self, dir: Dir, wire_len: u32, ts: Option<Timestamp>, tcp: Option<(u8, u32)>) {
        self.count(dir, 1, u64::from(wire_len), ts, ts);
        self.first_dir.get_or_insert(dir);
        if let Some((flags, seq)) = tcp {
            let d = dir.index();
            let syn = flags & TCP_SYN != 0;
            let ack = flags & TCP_ACK != 0;
            if syn && !ack {
                self.syns[d] += 1;
                self.first_syn_dir.get_or_insert(dir);
                self.conns.push(Event::Syn(seq));
            } else if syn {
                self.synacks[d] += 1;
                self.first_synack_dir.get_or_insert(dir);
            }
            if flags & TCP_RST != 0 {
                self.rsts[d] += 1;
                self.conns.push(Event::Close);
            } else if flags & TCP_FIN != 0 {
                self.fins[d] += 1;
                self.conns.push(Event::Close);
            }
        }
    }

    /// Whether a payload going `dir` is to be read: only the first each
    /// way is ([`FlowStats::first_payload`]).
    #[inline]
    pub fn listening(&self, dir: Dir) -> bool {
        self.apps[dir.index()] == App::None
    }

    /// Takes what the first payload going `dir` showed
    /// ([`crate::decode::listen`]): that direction's protocol, what it
    /// says of its sender, what it names and its quote.
    pub fn first_payload(&mut self, dir: Dir, heard: Heard, hello: Hello) {
        self.app_seen(dir.index(), heard.app());
        self.asked(dir, heard.ask());
        if hello != Hello::default() {
            let mine = &mut self.extra.get_or_insert_default().hello[dir.index()];
            if *mine == Hello::default() {
                *mine = hello;
            }
        }
    }

    /// Direction `d` showed `app`: the first payload that way decides.
    #[inline]
    fn app_seen(&mut self, d: usize, app: App) {
        if self.apps[d] == App::None {
            self.apps[d] = app;
        }
    }

    /// The directions in the order their first payloads came (either,
    /// before any).
    fn payload_order(&self) -> [Dir; 2] {
        let first = self.first_payload_dir.unwrap_or(Dir::AtoB);
        [first, first.reverse()]
    }

    /// What each direction's first payload named and said, the first
    /// payload's first.
    fn hellos(&self) -> impl Iterator<Item = &Hello> {
        let extra = self.extra.as_deref();
        (self.payload_order().into_iter()).filter_map(move |d| extra.map(|e| &e.hello[d.index()]))
    }

    /// What the first payload going `dir` said, where it was quoted.
    pub fn said(&self, dir: Dir) -> Option<&str> {
        self.extra.as_ref()?.hello[dir.index()].said.as_deref()
    }

    /// The server name a client named (TLS SNI, HTTP `Host`) in a first
    /// payload, the first payload's first.
    pub fn name(&self) -> Option<&str> {
        self.hellos().find_map(|h| h.name.as_deref())
    }

    /// The protocols a first payload's ClientHello offered (ALPN,
    /// [`crate::decode::alpn`]).
    pub fn alpn(&self) -> Option<&str> {
        self.hellos().find_map(|h| h.alpn.as_deref())
    }

    /// Takes what a first payload going `dir` says of its sender.
    #[inline]
    pub fn asked(&mut self, dir: Dir, ask: Ask) {
        let d = dir.index();
        if self.asks[d] == Ask::None {
            self.asks[d] = ask;
        }
        self.first_payload_dir.get_or_insert(dir);
    }

    /// Direction of the client, as the first payloads tell it
    /// ([`crate::decode::Ask`]): the first payload's word first, then
    /// the other direction's.
    pub fn first_ask_dir(&self) -> Option<Dir> {
        // A direction that said something had a first payload.
        (self.payload_order().into_iter()).find_map(|d| match self.asks[d.index()] {
            Ask::None => None,
            Ask::Request => Some(d),
            Ask::Reply => Some(d.reverse()),
        })
    }

    /// Records the tunnel a packet came through, or that it carried one;
    /// `tunnels`: those the packet's batch names ([`Encap::Inner`]).
    #[inline]
    pub fn encap(&mut self, e: &Encap, tunnels: &[Tunnel]) {
        if *e != Encap::None {
            self.note_encap(e, tunnels);
        }
    }

    #[cold]
    fn note_encap(&mut self, e: &Encap, tunnels: &[Tunnel]) {
        match *e {
            Encap::None => {}
            Encap::Inner(at) => {
                if self.tunnel().is_none() {
                    if let Some(&t) = tunnels.get(usize::from(at)) {
                        self.extra.get_or_insert_default().tunnel = Some(t);
                    }
                }
            }
            Encap::Carrier(k) => {
                self.carrier.get_or_insert(k);
            }
        }
    }

    /// The tunnel the flow's first tunnelled packet came through.
    pub fn tunnel(&self) -> Option<&Tunnel> {
        self.extra.as_ref()?.tunnel.as_ref()
    }

    /// The initiator a flow record named, and on what basis.
    pub fn declared(&self) -> Option<(Dir, InitiatorBasis)> {
        self.extra.as_ref()?.declared
    }

    /// The summary of one flow record's connection whose first side sends
    /// in direction `first` of the flow's key.
    pub fn of_record(r: &RecordCounts, first: Dir) -> FlowStats {
        let mut s = FlowStats::default();
        s.add_record(r, first);
        s
    }

    /// Appends one flow record's connection whose first side sends in
    /// direction `first`: what merging [`FlowStats::of_record`] would do,
    /// in place (a record costs no allocation once its flow has one).
    pub fn add_record(&mut self, r: &RecordCounts, first: Dir) {
        let dirs = [first, first.reverse()];
        for (side, dir) in dirs.into_iter().enumerate() {
            let d = dir.index();
            self.packets[d] += r.packets[side];
            self.bytes[d] += r.bytes[side];
            self.syns[d] += r.syns[side];
            self.synacks[d] += r.synacks[side];
            self.fins[d] += r.fins[side];
            self.rsts[d] += r.rsts[side];
            if let Some(app) = r.app.filter(|_| r.packets[side] > 0) {
                self.app_seen(d, app);
            }
        }
        self.span(r.first, r.last);
        self.first_dir.get_or_insert(first);
        // The record orders nothing within the connection; a SYN on the
        // first side is the one that opened it.
        let first_of =
            |counts: [u32; 2]| (0..2).find(|&side| counts[side] > 0).map(|side| dirs[side]);
        self.first_syn_dir = self.first_syn_dir.or_else(|| first_of(r.syns));
        self.first_synack_dir = self.first_synack_dir.or_else(|| first_of(r.synacks));
        if r.tcp && r.whole {
            // One record is one connection, whatever its handshake: a
            // start and an end, so that the next record counts anew.
            self.conns.push(Event::Syn(0));
            self.conns.push(Event::Close);
        }
        if let (None, Some(basis)) = (self.declared(), r.basis) {
            self.extra.get_or_insert_default().declared = Some((first, basis));
        }
        if let (true, Some(t)) = (r.opened != [false; 2], r.first) {
            let extra = self.extra.get_or_insert_default();
            for (side, dir) in dirs.into_iter().enumerate() {
                if r.opened[side] {
                    let at = &mut extra.opened_at[dir.index()];
                    *at = Timestamp::earliest(*at, Some(t));
                }
            }
            self.order_opening();
        }
    }

    /// Both directions' records ORed a SYN with ACKs: the direction whose
    /// record began first sent the SYN, the other the SYN-ACK (a TCP
    /// connection's first segment each way). Equal times decide nothing.
    fn order_opening(&mut self) {
        let Some([Some(a), Some(b)]) = self.extra.as_ref().map(|e| e.opened_at) else {
            return;
        };
        if a == b || self.first_syn_dir.is_some() || self.first_synack_dir.is_some() {
            return;
        }
        let client = if a < b { Dir::AtoB } else { Dir::BtoA };
        self.syns[client.index()] += 1;
        self.synacks[client.reverse().index()] += 1;
        self.first_syn_dir = Some(client);
        self.first_synack_dir = Some(client.reverse());
    }

    /// Adds packets whose only contribution is volume and time (later IP
    /// fragments joined to their flow).
    pub fn count(
        &mut self,
        dir: Dir,
        packets: u64,
        bytes: u64,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    ) {
        let d = dir.index();
        self.packets[d] += packets;
        self.bytes[d] += bytes;
        self.span(first, last);
    }

    /// Widens the flow's time span to take in `first` and `last`.
    fn span(&mut self, first: Option<Timestamp>, last: Option<Timestamp>) {
        self.first_ts = Stamp::set(Timestamp::earliest(self.first_ts.get(), first));
        self.last_ts = Stamp::set(Timestamp::latest(self.last_ts.get(), last));
    }

    /// Time of the earliest packet (none without timestamps).
    pub fn first_ts(&self) -> Option<Timestamp> {
        self.first_ts.get()
    }

    /// Time of the latest packet.
    pub fn last_ts(&self) -> Option<Timestamp> {
        self.last_ts.get()
    }

    /// What a stored flow keeps of the private parts (src/flow/stored.rs).
    pub(super) fn parts(&self) -> super::stored::Parts {
        let c = &self.conns;
        let first = match c.first {
            Event::None => None,
            Event::Close => Some(-1),
            Event::Syn(isn) => Some(i64::from(isn)),
        };
        let extra = self.extra.as_deref();
        super::stored::Parts {
            first_ts: self.first_ts(),
            last_ts: self.last_ts(),
            conn: (first, c.rest, c.open),
            tunnel: extra.and_then(|e| e.tunnel),
            // A flow file keeps the payload's word where a record's goes
            // (a flow has one or the other; a record's wins).
            declared: extra.and_then(|e| e.declared).or_else(|| {
                self.first_ask_dir()
                    .map(|d| (d, crate::flow::InitiatorBasis::Payload))
            }),
            opened_at: extra.map_or([None; 2], |e| e.opened_at),
            name: self.name().map(Box::from),
            alpn: self.alpn().map(Box::from),
            said: [Dir::AtoB, Dir::BtoA].map(|d| self.said(d).map(Box::from)),
        }
    }

    /// Stats with the private parts of a stored flow, the rest zero.
    pub(super) fn from_parts(p: super::stored::Parts) -> FlowStats {
        let first = match p.conn.0 {
            None => Event::None,
            Some(-1) => Event::Close,
            Some(isn) => Event::Syn(isn as u32),
        };
        let (declared, asked) = match p.declared {
            Some((d, crate::flow::InitiatorBasis::Payload)) => (None, Some(d)),
            other => (other, None),
        };
        // A stored flow keeps its name and ALPN offer, not which first
        // payload named them: the client's, where the payload said who
        // it is.
        let [said_a, said_b] = p.said;
        let mut hello = [said_a, said_b].map(|said| Hello {
            said,
            ..Hello::default()
        });
        let named = &mut hello[asked.unwrap_or(Dir::AtoB).index()];
        (named.name, named.alpn) = (p.name, p.alpn);
        let extra = FlowExtra {
            tunnel: p.tunnel,
            declared,
            opened_at: p.opened_at,
            hello,
        };
        let mut asks = [Ask::None; 2];
        if let Some(d) = asked {
            asks[d.index()] = Ask::Request;
        }
        FlowStats {
            first_ts: Stamp::set(p.first_ts),
            last_ts: Stamp::set(p.last_ts),
            conns: ConnCount {
                first,
                rest: p.conn.1,
                open: p.conn.2,
            },
            extra: (extra != FlowExtra::default()).then(|| Box::new(extra)),
            asks,
            first_payload_dir: asked,
            ..FlowStats::default()
        }
    }

    /// The stats without what the first payloads showed beyond their
    /// protocols: which payload told who asked, and what each named and
    /// said (a stored flow keeps what they told, [`FlowStats::parts`]).
    #[cfg(test)]
    pub(super) fn without_payload_evidence(&self) -> FlowStats {
        let mut s = self.clone();
        s.asks = [Ask::None; 2];
        s.first_payload_dir = None;
        if let Some(e) = &mut s.extra {
            e.hello = Default::default();
        }
        if s.extra.as_deref() == Some(&FlowExtra::default()) {
            s.extra = None;
        }
        s
    }

    /// Appends the summary of the packets that follow (`right`).
    pub fn merge(&mut self, right: &FlowStats) {
        for d in 0..2 {
            self.packets[d] += right.packets[d];
            self.bytes[d] += right.bytes[d];
            self.syns[d] += right.syns[d];
            self.synacks[d] += right.synacks[d];
            self.rsts[d] += right.rsts[d];
            self.fins[d] += right.fins[d];
        }
        self.span(right.first_ts(), right.last_ts());
        self.first_dir = self.first_dir.or(right.first_dir);
        self.first_syn_dir = self.first_syn_dir.or(right.first_syn_dir);
        self.first_synack_dir = self.first_synack_dir.or(right.first_synack_dir);
        // What a direction's first payload showed: the right's, where the
        // left sent none that way.
        let silent = self.apps.map(|a| a == App::None);
        for (d, silent) in silent.into_iter().enumerate() {
            self.app_seen(d, right.apps[d]);
            if silent && self.asks[d] == Ask::None {
                self.asks[d] = right.asks[d];
            }
        }
        self.first_payload_dir = self.first_payload_dir.or(right.first_payload_dir);
        self.conns.merge(&right.conns);
        if let Some(r) = &right.extra {
            let extra = self.extra.get_or_insert_default();
            extra.tunnel = extra.tunnel.or(r.tunnel);
            extra.declared = extra.declared.or(r.declared);
            for ((mine, theirs), silent) in extra.hello.iter_mut().zip(&r.hello).zip(silent) {
                if silent && *mine == Hello::default() {
                    mine.clone_from(theirs);
                }
            }
            for d in 0..2 {
                extra.opened_at[d] = Timestamp::earliest(extra.opened_at[d], r.opened_at[d]);
            }
            self.order_opening();
            // What the right's later payloads named is not taken: an
            // extra with nothing left in it is none.
            if self.extra.as_deref() == Some(&FlowExtra::default()) {
                self.extra = None;
            }
        }
        self.carrier = self.carrier.or(right.carrier);
        if self.origin.is_none() {
            self.origin = right.origin;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(events: &[(Dir, u8, u32)]) -> FlowStats {
        let mut s = FlowStats::default();
        for (i, &(dir, flags, seq)) in events.iter().enumerate() {
            s.add(dir, 60, Some(Timestamp(i as i128)), Some((flags, seq)));
        }
        s
    }

    /// A packet as the flow table counts it: a segment at time `i`, with
    /// a payload of a protocol (an index into [`App::ALL`]) that may say
    /// who asked (0 to 2), name a server, and be quoted.
    type Packet = (Dir, u8, u32, Option<(u8, u8, bool, bool)>);

    fn feed(s: &mut FlowStats, i: usize, &(dir, flags, seq, payload): &Packet) {
        s.add(dir, 60, Some(Timestamp(i as i128)), Some((flags, seq)));
        let Some((app, ask, named, quoted)) = payload else {
            return;
        };
        if !s.listening(dir) {
            return;
        }
        let app = App::ALL[usize::from(app) % App::ALL.len()];
        let ask = [Ask::None, Ask::Request, Ask::Reply][usize::from(ask % 3)];
        let hello = Hello {
            name: named.then(|| format!("{app}.at.{i}").into()),
            alpn: None,
            said: quoted.then(|| format!("{app} at {i}").into()),
        };
        s.first_payload(dir, Heard::new(app, ask), hello);
    }

    #[test]
    fn retransmitted_syn_is_one_connection_new_isn_is_two() {
        let syn = TCP_SYN;
        let s = run(&[(Dir::AtoB, syn, 1), (Dir::AtoB, syn, 1)]);
        assert_eq!(s.conns.total(), 1);
        let s = run(&[(Dir::AtoB, syn, 1), (Dir::AtoB, syn, 2)]);
        assert_eq!(s.conns.total(), 2);
        let s = run(&[
            (Dir::AtoB, syn, 1),
            (Dir::BtoA, TCP_RST | TCP_ACK, 0),
            (Dir::AtoB, syn, 1),
        ]);
        assert_eq!(
            s.conns.total(),
            2,
            "a SYN after a close is a new connection"
        );
        let s = run(&[(Dir::AtoB, TCP_ACK, 5), (Dir::AtoB, TCP_FIN | TCP_ACK, 6)]);
        assert_eq!(s.conns.total(), 0, "mid-stream: no SYN seen");
    }

    fn event() -> impl Strategy<Value = Packet> {
        (
            prop_oneof![Just(Dir::AtoB), Just(Dir::BtoA)],
            prop_oneof![
                Just(TCP_SYN),
                Just(TCP_SYN | TCP_ACK),
                Just(TCP_ACK),
                Just(TCP_FIN | TCP_ACK),
                Just(TCP_RST),
            ],
            0u32..3,
            proptest::option::of((2u8..8, 0u8..3, any::<bool>(), any::<bool>())),
        )
    }

    proptest! {
        /// Any split of a packet sequence, merged back, equals the whole:
        /// counts, connections, and what each direction's first payload
        /// showed (protocol, who asked, name, quote).
        #[test]
        fn merge_is_exact_for_any_split(
            events in proptest::collection::vec(event(), 0..40),
            cuts in proptest::collection::vec(0usize..40, 0..5),
        ) {
            let mut whole = FlowStats::default();
            for (i, e) in events.iter().enumerate() {
                feed(&mut whole, i, e);
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
            cuts.push(0);
            cuts.push(events.len());
            cuts.sort();
            let mut merged = FlowStats::default();
            for w in cuts.windows(2) {
                let mut part = FlowStats::default();
                for (i, e) in events[w[0]..w[1]].iter().enumerate() {
                    feed(&mut part, w[0] + i, e);
                }
                merged.merge(&part);
            }
            prop_assert_eq!(merged, whole);
        }
    }
}
