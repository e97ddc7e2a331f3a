//! Suricata's EVE JSON lines: `flow` and `netflow` events
//! (docs/inputs.md#suricata).
//!
//! A `flow` event is one connection both ways: `src_*` is the side
//! Suricata took as the client, `flow.pkts_toserver`/`bytes_toserver`
//! what it sent. Its TCP flags, ORed by direction (`tcp.tcp_flags_ts`,
//! `tcp.tcp_flags_tc`), say what the handshake was: a SYN to the server is
//! the client's SYN, a SYN to the client the server's SYN-ACK. A `netflow`
//! event is one direction of a flow; the two of a connection join in one
//! flow, named by the first; their flags cannot tell a SYN from a SYN-ACK,
//! so only FIN and RST are taken from them, and a direction that sent a SYN
//! and never an ACK (a client nobody answered). Which side began is then
//! the port heuristic's to say, as for NetFlow.

use crate::decode::App;
use serde::Deserialize;
use serde_json::Value;

use super::RecordFault;
use super::{addr, iso_time, json_line, proto_number, Line, LineError, LineReader, Record};
use crate::capture::Timestamp;
use crate::decode::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::flow::RecordCounts;

/// Reads EVE lines; events other than flows are counted, not used.
#[derive(Debug, Default)]
pub struct EveReader;

#[derive(Deserialize)]
struct Event {
    event_type: Option<String>,
    src_ip: Option<String>,
    src_port: Option<u16>,
    dest_ip: Option<String>,
    dest_port: Option<u16>,
    proto: Option<Value>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    flow: Option<Flow>,
    netflow: Option<Netflow>,
    app_proto: Option<String>,
    tcp: Option<Tcp>,
}

#[derive(Deserialize)]
struct Flow {
    pkts_toserver: Option<u64>,
    pkts_toclient: Option<u64>,
    bytes_toserver: Option<u64>,
    bytes_toclient: Option<u64>,
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct Netflow {
    pkts: Option<u64>,
    bytes: Option<u64>,
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct Tcp {
    tcp_flags: Option<String>,
    tcp_flags_ts: Option<String>,
    tcp_flags_tc: Option<String>,
}

impl LineReader for EveReader {
    fn line(&mut self, line: &[u8]) -> Result<Line, LineError> {
        let Some(e): Option<Event> = json_line(line, "an EVE JSON line")? else {
            return Ok(Line::Other);
        };
        let kind = e.event_type.as_deref().unwrap_or_default();
        if kind != "flow" && kind != "netflow" {
            return Err(LineError::new(
                RecordFault::NotAFlow,
                format!("an EVE {kind:?} event"),
            ));
        }
        let missing =
            |field: &str| LineError::new(RecordFault::MissingField, format!("{field} is missing"));
        let address = |field: &str, v: &Option<String>| {
            let t = v.as_deref().ok_or_else(|| missing(field))?;
            addr(t).ok_or_else(|| {
                LineError::new(
                    RecordFault::BadValue,
                    format!("{field} is not an address: {t:?}"),
                )
            })
        };
        let (src, dst) = (
            address("src_ip", &e.src_ip)?,
            address("dest_ip", &e.dest_ip)?,
        );
        let proto = match &e.proto {
            None => return Err(missing("proto")),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
            Some(Value::String(s)) => proto_number(s, src.is_ipv6()),
            Some(_) => None,
        }
        .ok_or_else(|| LineError::new(RecordFault::BadValue, "proto is no IP protocol"))?;
        let icmp = proto == PROTO_ICMP || proto == PROTO_ICMPV6;
        let (src_port, dst_port) = if icmp {
            (
                u16::from(e.icmp_type.unwrap_or_default()),
                u16::from(e.icmp_code.unwrap_or_default()),
            )
        } else {
            (
                e.src_port.unwrap_or_default(),
                e.dest_port.unwrap_or_default(),
            )
        };
        let time = |field: &str, v: &Option<String>| -> Result<Option<Timestamp>, LineError> {
            match v {
                None => Ok(None),
                Some(t) => iso_time(t).map(Some).ok_or_else(|| {
                    LineError::new(
                        RecordFault::BadValue,
                        format!("{field} is not a time: {t:?}"),
                    )
                }),
            }
        };
        let tcp = proto == PROTO_TCP;
        let mut counts = RecordCounts {
            tcp,
            app: e.app_proto.as_deref().and_then(App::of_engine),
            ..RecordCounts::default()
        };
        let flags = |hex: &Option<String>| -> Result<u8, LineError> {
            match hex {
                None => Ok(0),
                Some(h) => u8::from_str_radix(h, 16).map_err(|_| {
                    LineError::new(
                        RecordFault::BadValue,
                        format!("TCP flags {h:?} are not hex"),
                    )
                }),
            }
        };
        if kind == "flow" {
            let f = e.flow.as_ref().ok_or_else(|| missing("flow"))?;
            counts.packets = [
                f.pkts_toserver.unwrap_or_default(),
                f.pkts_toclient.unwrap_or_default(),
            ];
            counts.bytes = [
                f.bytes_toserver.unwrap_or_default(),
                f.bytes_toclient.unwrap_or_default(),
            ];
            counts.first = time("flow.start", &f.start)?;
            counts.last = time("flow.end", &f.end)?.or(counts.first);
            if let (true, Some(t)) = (tcp, &e.tcp) {
                let sides = [flags(&t.tcp_flags_ts)?, flags(&t.tcp_flags_tc)?];
                for (side, f) in sides.into_iter().enumerate() {
                    if f & TCP_SYN != 0 {
                        // ORed flags: to the server a SYN is the client's
                        // opening one, to the client the server's answer.
                        if side == 0 {
                            counts.syns[0] = 1;
                        } else {
                            counts.synacks[1] = 1;
                        }
                    }
                    counts.fins[side] = u32::from(f & TCP_FIN != 0);
                    counts.rsts[side] = u32::from(f & TCP_RST != 0);
                }
            }
        } else {
            let n = e.netflow.as_ref().ok_or_else(|| missing("netflow"))?;
            // One direction: its source is the server as often as the
            // client, and it is half a connection.
            counts.whole = false;
            counts.basis = None;
            counts.packets[0] = n.pkts.unwrap_or_default();
            counts.bytes[0] = n.bytes.unwrap_or_default();
            counts.first = time("netflow.start", &n.start)?;
            counts.last = time("netflow.end", &n.end)?.or(counts.first);
            if let (true, Some(t)) = (tcp, &e.tcp) {
                let f = flags(&t.tcp_flags)?;
                counts.fins[0] = u32::from(f & TCP_FIN != 0);
                counts.rsts[0] = u32::from(f & TCP_RST != 0);
                // A direction that only ever sent a SYN without ACK is a
                // client that was never answered.
                counts.syns[0] = u32::from(f & (TCP_SYN | TCP_ACK) == TCP_SYN);
            }
        }
        Ok(Line::Record(Record::between(
            proto,
            (src, src_port),
            (dst, dst_port),
            counts,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Result<Line, LineError> {
        EveReader.line(line.as_bytes())
    }

    #[test]
    fn a_flow_event_with_its_handshake() {
        let Line::Record(r) = read(
            r#"{"timestamp":"2019-07-10T13:24:59.000000+0000","flow_id":1,"event_type":"flow","src_ip":"10.0.0.5","src_port":51000,"dest_ip":"10.0.0.9","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":8,"pkts_toclient":7,"bytes_toserver":900,"bytes_toclient":4000,"start":"2019-07-10T13:24:49.123456+0000","end":"2019-07-10T13:24:50.000000+0000","age":1,"state":"closed","reason":"timeout","alerted":false},"community_id":"1:x","tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((r.first.port, r.second.port), (51000, 443));
        assert_eq!(r.counts.packets, [8, 7]);
        assert_eq!(r.counts.syns, [1, 0]);
        assert_eq!(r.counts.synacks, [0, 1]);
        assert_eq!(r.counts.fins, [1, 1]);
        assert_eq!(r.counts.first, Some(Timestamp(1_562_765_089_123_456_000)));
    }

    #[test]
    fn icmp_and_other_events() {
        let Line::Record(r) = read(
            r#"{"event_type":"flow","src_ip":"fe80::1","dest_ip":"fe80::2","proto":"IPv6-ICMP","icmp_type":128,"icmp_code":0,"flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((r.proto, r.first.port), (PROTO_ICMPV6, 128));
        let alert = read(r#"{"event_type":"alert","src_ip":"1.1.1.1"}"#).unwrap_err();
        assert_eq!(alert.fault, RecordFault::NotAFlow);
        let bad = read(r#"{"event_type":"flow","src_ip":"1.1.1.1","dest_ip":"x","proto":"TCP"}"#)
            .unwrap_err();
        assert_eq!(bad.fault, RecordFault::BadValue);
        assert!(bad.why.contains("dest_ip"), "{}", bad.why);
    }
}
