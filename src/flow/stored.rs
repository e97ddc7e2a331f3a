//! A flow as portaudit's flow files keep it (`portaudit flows`, NDJSON and
//! Parquet; docs/inputs.md#portaudit-flow-files): its key and every counter
//! the audit reads, nothing resolved. Flows read back are merged exactly as
//! the flows of the captures they came from would be, so that an audit of
//! the flow files of a capture's shards is the audit of the capture.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::key::{Dir, Endpoint, FlowKey, PackedKey};
use super::origin::{Input, Inputs, Place, Unit};
use super::resolve::InitiatorBasis;
use super::stats::FlowStats;
use crate::capture::Timestamp;
use crate::decode::{App, Tunnel, TunnelKind};

/// The version of [`StoredFlow`]'s layout written; a file of a version
/// after it is refused. Version 1 had no `source`, version 2 no `apps`
/// and `name`, version 3 no `alpn`, version 4 no `said`.
pub const STORED_VERSION: u32 = 5;

/// One flow's state, as JSON (the `state` of a flow file's row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFlow {
    pub v: u32,
    pub proto: u8,
    /// The key's two sides, in the key's order (the lower first).
    pub a: IpAddr,
    pub a_port: u16,
    pub b: IpAddr,
    pub b_port: u16,
    /// By direction: index 0 is a to b.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Nanoseconds since 1970, as capture times are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ns: Option<i128>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ns: Option<i128>,
    /// Directions (0: a to b, 1: b to a) of the first packet, the first
    /// SYN without ACK, the first SYN-ACK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_dir: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syn_dir: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synack_dir: Option<u8>,
    pub syns: [u32; 2],
    pub synacks: [u32; 2],
    pub rsts: [u32; 2],
    pub fins: [u32; 2],
    /// The connection count: the first event (`null` none, -1 a close,
    /// else a SYN's sequence number), connections begun after it, and the
    /// connection open after the last event (its SYN's sequence number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_first: Option<i64>,
    pub conn_rest: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_open: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<StoredTunnel>,
    /// The initiator a flow record named (its direction) and the basis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<(u8, String)>,
    /// When each direction's first record that ORed a SYN with ACKs began.
    #[serde(default, skip_serializing_if = "is_unset")]
    pub opened_ns: [Option<i128>; 2],
    /// The tunnel kind this flow carries (`--tunnels both`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// Where the flow was first seen: the input as it was named, how its
    /// positions count, and the position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<StoredSource>,
    /// The application protocol of each direction's first payload (0: a
    /// to b), by label; absent when neither direction carried any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps: Option<[String; 2]>,
    /// The first server name a client named (TLS SNI, HTTP `Host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The first ALPN offer a client made (`h2,http/1.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// What each direction's first payload said (0: a to b), quoted where
    /// its protocol was off its own ports (`decode::quote`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub said: Option<[Option<String>; 2]>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSource {
    pub input: String,
    /// `byte`, `line` or `packet`.
    pub unit: String,
    pub at: u64,
}

fn is_unset(t: &[Option<i128>; 2]) -> bool {
    t.iter().all(Option::is_none)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredTunnel {
    pub kind: String,
    pub src: IpAddr,
    pub dst: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
}

/// The parts of [`FlowStats`] a stored flow is made of, to and from it
/// (src/flow/stats.rs keeps them private).
pub(super) struct Parts {
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub conn: (Option<i64>, u32, Option<u32>),
    pub tunnel: Option<Tunnel>,
    pub declared: Option<(Dir, InitiatorBasis)>,
    pub opened_at: [Option<Timestamp>; 2],
    pub name: Option<Box<str>>,
    pub alpn: Option<Box<str>>,
    pub said: [Option<Box<str>>; 2],
}

impl StoredFlow {
    /// The stored form of flow `key`'s `stats`, its origin naming one of
    /// `inputs`.
    pub fn of(key: &PackedKey, s: &FlowStats, inputs: &Inputs) -> StoredFlow {
        let k = key.unpack();
        let p = s.parts();
        let dir = |d: Option<Dir>| d.map(|d| d.index() as u8);
        StoredFlow {
            v: STORED_VERSION,
            proto: k.proto,
            a: k.a.addr,
            a_port: k.a.port,
            b: k.b.addr,
            b_port: k.b.port,
            packets: s.packets,
            bytes: s.bytes,
            first_ns: p.first_ts.map(|t| t.0),
            last_ns: p.last_ts.map(|t| t.0),
            first_dir: dir(s.first_dir),
            syn_dir: dir(s.first_syn_dir),
            synack_dir: dir(s.first_synack_dir),
            syns: s.syns,
            synacks: s.synacks,
            rsts: s.rsts,
            fins: s.fins,
            conn_first: p.conn.0,
            conn_rest: p.conn.1,
            conn_open: p.conn.2,
            tunnel: p.tunnel.map(|t| StoredTunnel {
                kind: t.kind.label().to_string(),
                src: t.src,
                dst: t.dst,
                id: t.id,
            }),
            declared: p
                .declared
                .map(|(d, b)| (d.index() as u8, b.label().to_string())),
            opened_ns: p.opened_at.map(|t| t.map(|t| t.0)),
            carrier: s.carrier.map(|k| k.label().to_string()),
            source: inputs.place(s.origin()).map(|p| StoredSource {
                input: p.input.name,
                unit: p.input.unit.label().to_string(),
                at: p.at,
            }),
            apps: (s.apps != [App::None; 2]).then(|| s.apps.map(|a| a.label().to_string())),
            name: p.name.map(String::from),
            alpn: p.alpn.map(String::from),
            said: (p.said != [None, None]).then(|| p.said.map(|q| q.map(String::from))),
        }
    }

    /// The flow's key and stats, and where it was first seen; what is
    /// wrong, when something is.
    pub fn to_flow(&self) -> Result<(PackedKey, FlowStats, Option<Place>), String> {
        if !(1..=STORED_VERSION).contains(&self.v) {
            return Err(format!(
                "a flow of layout version {} (this portaudit reads {STORED_VERSION})",
                self.v
            ));
        }
        if self.a.is_ipv4() != self.b.is_ipv4() {
            return Err("one side IPv4, the other IPv6".to_string());
        }
        let key = FlowKey {
            proto: self.proto,
            a: Endpoint {
                addr: self.a,
                port: self.a_port,
            },
            b: Endpoint {
                addr: self.b,
                port: self.b_port,
            },
        };
        let packed = PackedKey::of_key(&key)
            .ok_or_else(|| "its sides are not in the key's order".to_string())?;
        let dir = |d: Option<u8>, what: &str| match d {
            None => Ok(None),
            Some(0) => Ok(Some(Dir::AtoB)),
            Some(1) => Ok(Some(Dir::BtoA)),
            Some(n) => Err(format!("{what} {n} is no direction (0 or 1)")),
        };
        let tunnel = match &self.tunnel {
            None => None,
            Some(t) => Some(Tunnel {
                kind: tunnel_kind(&t.kind)?,
                src: t.src,
                dst: t.dst,
                id: t.id,
            }),
        };
        let declared = match &self.declared {
            None => None,
            Some((d, basis)) => {
                let d = dir(Some(*d), "declared")?.expect("a direction");
                let b = InitiatorBasis::ALL
                    .into_iter()
                    .find(|b| b.label() == basis)
                    .ok_or_else(|| format!("{basis:?} is no initiator basis"))?;
                Some((d, b))
            }
        };
        if matches!(self.conn_first, Some(n) if n < -1 || n > i64::from(u32::MAX)) {
            return Err("conn_first is neither -1 nor a sequence number".to_string());
        }
        let parts = Parts {
            first_ts: self.first_ns.map(Timestamp),
            last_ts: self.last_ns.map(Timestamp),
            conn: (self.conn_first, self.conn_rest, self.conn_open),
            tunnel,
            declared,
            opened_at: self.opened_ns.map(|t| t.map(Timestamp)),
            name: match &self.name {
                Some(n) if n.is_empty() || n.len() > crate::decode::MAX_NAME => {
                    return Err(format!("name {n:?} is no server name"));
                }
                n => n.as_deref().map(Box::from),
            },
            alpn: match &self.alpn {
                Some(a)
                    if a.is_empty()
                        || a.len() > crate::decode::MAX_ALPN
                        || !a.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    return Err(format!("alpn {a:?} is no ALPN offer"));
                }
                a => a.as_deref().map(Box::from),
            },
            said: match &self.said {
                None => [None, None],
                Some(said) => {
                    let mut quotes = [None, None];
                    for (q, s) in quotes.iter_mut().zip(said) {
                        match s {
                            Some(s)
                                if s.is_empty()
                                    || s.chars().count() > crate::decode::MAX_QUOTE
                                    || s.chars().any(char::is_control) =>
                            {
                                return Err(format!("said {s:?} is no quote of a payload"));
                            }
                            s => *q = s.as_deref().map(Box::from),
                        }
                    }
                    quotes
                }
            },
        };
        let mut s = FlowStats::from_parts(parts);
        s.packets = self.packets;
        s.bytes = self.bytes;
        s.first_dir = dir(self.first_dir, "first_dir")?;
        s.first_syn_dir = dir(self.syn_dir, "syn_dir")?;
        s.first_synack_dir = dir(self.synack_dir, "synack_dir")?;
        s.syns = self.syns;
        s.synacks = self.synacks;
        s.rsts = self.rsts;
        s.fins = self.fins;
        s.carrier = self.carrier.as_deref().map(tunnel_kind).transpose()?;
        if let Some(apps) = &self.apps {
            for (d, label) in apps.iter().enumerate() {
                s.apps[d] = App::of_label(label)
                    .ok_or_else(|| format!("{label:?} is no application protocol"))?;
            }
        }
        let place = match &self.source {
            None => None,
            Some(src) => Some(Place {
                input: Input {
                    name: src.input.clone(),
                    unit: Unit::parse(&src.unit)
                        .ok_or_else(|| format!("{:?} is no unit of position", src.unit))?,
                },
                at: src.at,
            }),
        };
        Ok((packed, s, place))
    }
}

fn tunnel_kind(label: &str) -> Result<TunnelKind, String> {
    TunnelKind::ALL
        .into_iter()
        .find(|k| k.label() == label)
        .ok_or_else(|| format!("{label:?} is no tunnel kind"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Ask, Encap, Heard, Hello};
    use crate::flow::{Origin, RecordCounts};
    use proptest::prelude::*;

    fn key(v6: bool, ports: (u16, u16), proto: u8) -> PackedKey {
        let (a, b): (IpAddr, IpAddr) = match v6 {
            false => ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()),
            true => ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap()),
        };
        let (k, _) = PackedKey::of_endpoints(
            proto,
            Endpoint {
                addr: a,
                port: ports.0,
            },
            Endpoint {
                addr: b,
                port: ports.1,
            },
        );
        k
    }

    #[test]
    fn every_label_reads_back() {
        for k in TunnelKind::ALL {
            assert_eq!(tunnel_kind(k.label()), Ok(k));
        }
        assert_eq!(InitiatorBasis::ALL.len(), 9);
    }

    proptest! {
        /// Any flow, stored as JSON and read back, is the same flow:
        /// packets, flags, connections, tunnel, a record's word, times,
        /// and what its first payloads told.
        #[test]
        fn a_stored_flow_reads_back_as_itself(
            v6 in any::<bool>(),
            ports in (any::<u16>(), any::<u16>()),
            proto in prop_oneof![Just(6u8), Just(17), Just(1), any::<u8>()],
            packets in prop::collection::vec(
                (any::<bool>(), 40u32..1500, any::<Option<i64>>(), any::<u8>(), 0u32..4, any::<u8>()),
                0..12,
            ),
            name in proptest::option::of("[a-z0-9.-]{1,40}"),
            alpn in proptest::option::of("[a-z0-9/.]{1,8}(,[a-z0-9/.]{1,8}){0,3}"),
            said in proptest::option::of("[ -~]{1,63}…?"),
            tunnel in any::<Option<(u8, Option<u32>)>>(),
            carrier in any::<Option<u8>>(),
            record in any::<Option<(bool, bool, [bool; 2], Option<i64>)>>(),
            at in any::<Option<u64>>(),
        ) {
            let k = key(v6, ports, proto);
            let mut s = FlowStats::default();
            let kinds = TunnelKind::ALL;
            let tunnels: Vec<Tunnel> = tunnel
                .map(|(kind, id)| Tunnel {
                    kind: kinds[usize::from(kind) % kinds.len()],
                    src: "192.0.2.1".parse().unwrap(),
                    dst: "192.0.2.2".parse().unwrap(),
                    id,
                })
                .into_iter()
                .collect();
            for (forward, len, ts, flags, seq, app) in packets {
                let dir = if forward { Dir::AtoB } else { Dir::BtoA };
                let tcp = (proto == 6).then_some((flags, seq));
                s.add(dir, len, ts.map(|t| Timestamp(i128::from(t))), tcp);
                let ask = [Ask::None, Ask::Request, Ask::Reply][usize::from(app >> 6) % 3];
                let app = App::ALL[usize::from(app) % App::ALL.len()];
                if s.listening(dir) {
                    s.first_payload(dir, Heard::new(app, ask), Hello {
                        name: name.as_deref().map(Box::from),
                        alpn: alpn.as_deref().map(Box::from),
                        said: said.as_deref().map(Box::from),
                    });
                }
                if !tunnels.is_empty() {
                    s.encap(&Encap::Inner(0), &tunnels);
                }
            }
            if let Some(c) = carrier {
                s.encap(&Encap::Carrier(kinds[usize::from(c) % kinds.len()]), &[]);
            }
            if let Some((forward, whole, opened, first)) = record {
                let r = RecordCounts {
                    packets: [3, 4],
                    bytes: [300, 400],
                    tcp: proto == 6,
                    first: first.map(|t| Timestamp(i128::from(t))),
                    last: first.map(|t| Timestamp(i128::from(t) + 5)),
                    basis: Some(InitiatorBasis::Record),
                    whole,
                    opened,
                    ..RecordCounts::default()
                };
                s.add_record(&r, if forward { Dir::AtoB } else { Dir::BtoA });
            }
            let inputs = Inputs::of([Input { name: "a.pcap".into(), unit: Unit::Byte }]);
            if let Some(at) = at {
                s.set_origin(Origin::of(0, at));
            }
            let stored = StoredFlow::of(&k, &s, &inputs);
            let json = serde_json::to_string(&stored).unwrap();
            let back: StoredFlow = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &stored);
            let (k2, mut s2, place) = back.to_flow().unwrap();
            prop_assert_eq!(k2, k);
            prop_assert_eq!(place.clone(), inputs.place(s.origin()));
            if let Some(p) = place {
                let mut read = Inputs::new();
                s2.set_origin(Origin::of(read.intern(p.input), p.at));
            }
            // What the first payloads showed reads back as what it tells
            // (who asked, the name, the ALPN offer, the quotes), not as
            // which payload told it; who asked, where a record's word,
            // which takes precedence, does not say it.
            let told = |s: &FlowStats| {
                let said = [Dir::AtoB, Dir::BtoA].map(|d| s.said(d).map(str::to_string));
                let asked = s.declared().map_or_else(|| s.first_ask_dir(), |_| None);
                (asked, s.name().map(str::to_string), s.alpn().map(str::to_string), said)
            };
            prop_assert_eq!(told(&s2), told(&s));
            prop_assert_eq!(s2.without_payload_evidence(), s.without_payload_evidence());
        }
    }
}
