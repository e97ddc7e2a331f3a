//! Zeek's conn.log, TSV and JSON lines (docs/inputs.md#zeek).
//!
//! A record's originator is the flow's first side. Its `history` letters
//! become the TCP segments the flow summary counts (upper case: the
//! originator, lower case: the responder; `S` a SYN, `H` a SYN-ACK, `F`,
//! `R`), so that portaudit decides the initiator, the state and the
//! connections as it does from packets: a handshake is evidence. Without
//! handshake letters the originator is taken as Zeek gave it, `record`,
//! or `record-heuristic` when history starts with `^` (Zeek turned the
//! connection round by its own heuristic). Without history (a log written
//! with it off), `conn_state` says what the handshake was.

use crate::decode::App;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::Value;

use super::{
    addr, decimal_seconds, iso_time, json_line, proto_number, Line, LineError, LineReader,
};
use super::{Record, RecordFault};
use crate::capture::Timestamp;
use crate::decode::TunnelKind;
use crate::flow::{Endpoint, InitiatorBasis, RecordCounts};

/// The conn.log fields portaudit reads, and the Zeek type each must have.
const FIELDS: [(&str, &str); 16] = [
    ("ts", "time"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("duration", "interval"),
    ("conn_state", "string"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("ip_proto", "count"),
    ("service", "string"),
    ("tunnel_parents", "set[string]"),
];
/// Fields without which a line is no connection.
const REQUIRED: usize = 6;
const TS: usize = 0;
const ORIG_H: usize = 1;
const ORIG_P: usize = 2;
const RESP_H: usize = 3;
const RESP_P: usize = 4;
const PROTO: usize = 5;
const DURATION: usize = 6;
const CONN_STATE: usize = 7;
const HISTORY: usize = 8;
const ORIG_PKTS: usize = 9;
const ORIG_IP_BYTES: usize = 10;
const RESP_PKTS: usize = 11;
const RESP_IP_BYTES: usize = 12;
const IP_PROTO: usize = 13;
const SERVICE: usize = 14;
const TUNNEL_PARENTS: usize = 15;

/// The values of one line, by [`FIELDS`] index; `None`: absent or unset.
type Values<'a> = [Option<&'a str>; FIELDS.len()];

/// What the header before the lines says.
#[derive(Debug, Default)]
struct Header {
    separator: Vec<u8>,
    unset: Vec<u8>,
    empty: Vec<u8>,
    path: Option<String>,
    /// Columns of `#fields`: the [`FIELDS`] index of each, if read.
    columns: Option<Vec<Option<usize>>>,
    /// Why the lines under this header cannot be read, once known.
    broken: Option<String>,
    /// The broken header was reported (on the first line under it).
    reported: bool,
}

impl Header {
    /// The field separator (a tab when the header names none).
    fn separator(&self) -> &[u8] {
        if self.separator.is_empty() {
            b"\t"
        } else {
            &self.separator
        }
    }
}

/// Reads a TSV conn.log, header blocks and all (rotated logs joined with
/// `cat` repeat them).
#[derive(Debug, Default)]
pub struct TsvReader {
    header: Header,
    /// `#fields` was the last header line: `#types` checks against it.
    types_pending: bool,
}

impl LineReader for TsvReader {
    fn line(&mut self, line: &[u8]) -> Result<Line, LineError> {
        if line.is_empty() {
            return Ok(Line::Other);
        }
        if line[0] == b'#' {
            self.header_line(line);
            return Ok(Line::Other);
        }
        let h = &mut self.header;
        if let Some(why) = &h.broken {
            let why = if h.reported {
                "under the same header".to_string()
            } else {
                why.clone()
            };
            h.reported = true;
            return Err(LineError::new(RecordFault::BadHeader, why));
        }
        let Some(columns) = &h.columns else {
            return Err(LineError::new(
                RecordFault::BadHeader,
                "a line before any #fields header",
            ));
        };
        let sep = h.separator();
        let mut values: Values<'_> = [None; FIELDS.len()];
        let mut n = 0;
        match (sep, std::str::from_utf8(line)) {
            // The common line: valid UTF-8 cut at an ASCII byte (Zeek's
            // tab), in one pass over the line.
            ([one], Ok(text)) if one.is_ascii() => {
                // Where each field portaudit reads lies; only those are
                // looked at.
                let mut spans = [(0usize, 0usize, usize::MAX); FIELDS.len()];
                let mut start = 0;
                let mut note = |n: usize, start: usize, end: usize| {
                    if let Some(Some(slot)) = columns.get(n) {
                        spans[*slot] = (start, end, n);
                    }
                };
                separators(line, *one, |at| {
                    note(n, start, at);
                    n += 1;
                    start = at + 1;
                });
                note(n, start, line.len());
                n += 1;
                for &(start, end, column) in spans.iter().filter(|s| s.2 != usize::MAX) {
                    let (field, text) = (&line[start..end], &text[start..end]);
                    take(&mut values, columns, h, column, field, Some(text))?;
                }
            }
            _ => {
                for field in split(line, sep) {
                    take(&mut values, columns, h, n, field, None)?;
                    n += 1;
                }
            }
        }
        if n != columns.len() {
            return Err(LineError::new(
                RecordFault::Malformed,
                format!("{n} fields where #fields names {}", columns.len()),
            ));
        }
        record(&values).map(Line::Record)
    }
}

/// Keeps field `n` of a line (`text`: it as UTF-8, when the line was
/// checked whole) if it is one portaudit reads and is set.
fn take<'a>(
    values: &mut Values<'a>,
    columns: &[Option<usize>],
    h: &Header,
    n: usize,
    field: &'a [u8],
    text: Option<&'a str>,
) -> Result<(), LineError> {
    if let Some(Some(slot)) = columns.get(n) {
        if !same(field, &h.unset) {
            let text = match text {
                Some(t) => t,
                None => std::str::from_utf8(field).map_err(|_| {
                    LineError::new(
                        RecordFault::BadValue,
                        format!("field {} is not UTF-8", FIELDS[*slot].0),
                    )
                })?,
            };
            values[*slot] = Some(if same(field, &h.empty) { "" } else { text });
        }
    }
    Ok(())
}

/// Calls `f` with the position of every `sep` in `line`, in order. Fields
/// are short: eight bytes at a time in a word (a zero byte of `word ^
/// seps` is a separator) beats a vector search started again for each.
#[inline]
fn separators(line: &[u8], sep: u8, mut f: impl FnMut(usize)) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let seps = ONES * u64::from(sep);
    let mut words = line.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let x = word ^ seps;
        // High bit set in each byte of x that is zero, and perhaps in a
        // byte 0x01 above a zero one: each candidate is checked.
        let mut hits = x.wrapping_sub(ONES) & !x & HIGHS;
        while hits != 0 {
            let at = base + (hits.trailing_zeros() / 8) as usize;
            if chunk[at - base] == sep {
                f(at);
            }
            hits &= hits - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == sep {
            f(base + i);
        }
    }
}

/// `a == b` for the short markers (`-`, `(empty)`): lengths first, then
/// bytes, without a call to memcmp.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl TsvReader {
    fn header_line(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let (name, value) = match text.strip_prefix("#separator ") {
            Some(v) => ("#separator", v),
            None => text.split_once('\t').unwrap_or((&text, "")),
        };
        let types_pending = std::mem::take(&mut self.types_pending);
        let h = &mut self.header;
        match name {
            "#separator" => {
                // A new header block starts.
                *h = Header {
                    separator: unescape(value),
                    unset: b"-".to_vec(),
                    empty: b"(empty)".to_vec(),
                    ..Header::default()
                };
            }
            "#unset_field" => h.unset = unescape(value).to_vec(),
            "#empty_field" => h.empty = unescape(value).to_vec(),
            "#path" => h.path = Some(value.to_string()),
            "#fields" => {
                let sep = String::from_utf8_lossy(h.separator()).into_owned();
                let names: Vec<&str> = value.split(sep.as_str()).collect();
                let columns: Vec<Option<usize>> = names
                    .iter()
                    .map(|n| FIELDS.iter().position(|(f, _)| f == n))
                    .collect();
                let missing: Vec<&str> = FIELDS[..REQUIRED]
                    .iter()
                    .map(|(f, _)| *f)
                    .filter(|f| !names.contains(f))
                    .collect();
                h.broken = if !names.contains(&"conn_state") && !names.contains(&"history") {
                    Some(match &h.path {
                        Some(p) if p != "conn" => {
                            format!("a Zeek {p} log, not a conn log (no conn_state or history)")
                        }
                        _ => {
                            "not a conn log: #fields has neither conn_state nor history".to_string()
                        }
                    })
                } else if !missing.is_empty() {
                    Some(format!("#fields lacks {}", missing.join(", ")))
                } else {
                    None
                };
                h.columns = Some(columns);
                self.types_pending = true;
            }
            "#types" if types_pending => {
                let Some(columns) = &h.columns else { return };
                let sep = String::from_utf8_lossy(h.separator()).into_owned();
                let types: Vec<&str> = value.split(sep.as_str()).collect();
                if types.len() != columns.len() {
                    h.broken.get_or_insert(format!(
                        "#types names {} types for {} #fields",
                        types.len(),
                        columns.len()
                    ));
                    return;
                }
                for (slot, ty) in columns.iter().zip(&types) {
                    if let Some(slot) = slot {
                        let (field, want) = FIELDS[*slot];
                        if *ty != want {
                            h.broken.get_or_insert(format!(
                                "#types gives {field} the type {ty}, where conn.log has {want}"
                            ));
                            return;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Splits `line` at every `sep` (one byte, Zeek's tab, in practice).
fn split<'a>(line: &'a [u8], sep: &'a [u8]) -> Split<'a> {
    Split {
        rest: Some(line),
        sep,
    }
}

/// The fields of a line, without allocating.
struct Split<'a> {
    rest: Option<&'a [u8]>,
    sep: &'a [u8],
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let r = self.rest?;
        let at = match self.sep {
            [one] => memchr::memchr(*one, r),
            sep => memchr::memmem::find(r, sep),
        };
        match at {
            Some(i) => {
                self.rest = Some(&r[i + self.sep.len()..]);
                Some(&r[..i])
            }
            None => {
                self.rest = None;
                Some(r)
            }
        }
    }
}

/// A header value with Zeek's `\xHH` escapes resolved.
fn unescape(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let Some(byte) = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// A conn.log's lines as JSON objects (flat `id.orig_h` keys, as Zeek
/// writes them, or an `id` object, as some pipelines reshape them).
#[derive(Debug, Default)]
pub struct JsonReader;

#[derive(Deserialize)]
struct JsonLine {
    ts: Option<Value>,
    #[serde(rename = "id.orig_h")]
    orig_h: Option<String>,
    #[serde(rename = "id.orig_p")]
    orig_p: Option<Value>,
    #[serde(rename = "id.resp_h")]
    resp_h: Option<String>,
    #[serde(rename = "id.resp_p")]
    resp_p: Option<Value>,
    id: Option<JsonId>,
    proto: Option<String>,
    duration: Option<Value>,
    conn_state: Option<String>,
    history: Option<String>,
    orig_pkts: Option<Value>,
    orig_ip_bytes: Option<Value>,
    resp_pkts: Option<Value>,
    resp_ip_bytes: Option<Value>,
    ip_proto: Option<Value>,
    service: Option<String>,
    #[serde(default)]
    tunnel_parents: Vec<String>,
}

#[derive(Deserialize)]
struct JsonId {
    orig_h: Option<String>,
    orig_p: Option<Value>,
    resp_h: Option<String>,
    resp_p: Option<Value>,
}

impl LineReader for JsonReader {
    fn line(&mut self, line: &[u8]) -> Result<Line, LineError> {
        let Some(j): Option<JsonLine> = json_line(line, "a conn.log JSON line")? else {
            return Ok(Line::Other);
        };
        if j.conn_state.is_none() && j.history.is_none() && j.orig_pkts.is_none() {
            return Err(LineError::new(
                RecordFault::BadHeader,
                "a JSON line of another Zeek log (no conn_state, history or orig_pkts)",
            ));
        }
        let id = j.id.as_ref();
        let texts = [
            j.ts.as_ref().map(json_text),
            j.orig_h
                .clone()
                .or_else(|| id.and_then(|i| i.orig_h.clone())),
            j.orig_p
                .as_ref()
                .or_else(|| id.and_then(|i| i.orig_p.as_ref()))
                .map(json_text),
            j.resp_h
                .clone()
                .or_else(|| id.and_then(|i| i.resp_h.clone())),
            j.resp_p
                .as_ref()
                .or_else(|| id.and_then(|i| i.resp_p.as_ref()))
                .map(json_text),
            j.proto,
            j.duration.as_ref().map(json_text),
            j.conn_state,
            j.history,
            j.orig_pkts.as_ref().map(json_text),
            j.orig_ip_bytes.as_ref().map(json_text),
            j.resp_pkts.as_ref().map(json_text),
            j.resp_ip_bytes.as_ref().map(json_text),
            j.ip_proto.as_ref().map(json_text),
            j.service,
            (!j.tunnel_parents.is_empty()).then(|| j.tunnel_parents.join(",")),
        ];
        let mut values: Values<'_> = [None; FIELDS.len()];
        for (v, t) in values.iter_mut().zip(&texts) {
            *v = t.as_deref();
        }
        record(&values).map(Line::Record)
    }
}

/// A JSON scalar as the text a TSV log would hold.
fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The connection a line's values describe.
fn record(v: &Values<'_>) -> Result<Record, LineError> {
    let need = |i: usize| {
        v[i].ok_or_else(|| {
            LineError::new(
                RecordFault::MissingField,
                format!("{} is missing or unset", FIELDS[i].0),
            )
        })
    };
    let bad = |i: usize, text: &str| {
        LineError::new(
            RecordFault::BadValue,
            format!("{} is not {}: {text:?}", FIELDS[i].0, FIELDS[i].1),
        )
    };
    let address = |i: usize| -> Result<IpAddr, LineError> {
        let t = need(i)?;
        addr(t).ok_or_else(|| bad(i, t))
    };
    let port = |i: usize| -> Result<u16, LineError> {
        let t = need(i)?;
        t.parse().map_err(|_| bad(i, t))
    };
    let count = |i: usize| -> Result<u64, LineError> {
        match v[i] {
            None => Ok(0),
            Some(t) => t.parse().map_err(|_| bad(i, t)),
        }
    };
    let (orig, resp) = (address(ORIG_H)?, address(RESP_H)?);
    let (orig_p, resp_p) = (port(ORIG_P)?, port(RESP_P)?);
    let proto_name = need(PROTO)?;
    let proto = match (proto_name, v[IP_PROTO]) {
        // Zeek 6 and later name the protocol number of any transport.
        (_, Some(n)) => n.parse().map_err(|_| bad(IP_PROTO, n))?,
        ("unknown_transport", None) => {
            return Err(LineError::new(
                RecordFault::UnknownTransport,
                "Zeek names no protocol (unknown_transport, and no ip_proto)",
            ))
        }
        (name, None) => proto_number(name, orig.is_ipv6()).ok_or_else(|| bad(PROTO, name))?,
    };
    let first = match v[TS] {
        None => None,
        Some(t) => Some(
            decimal_seconds(t)
                .map(Timestamp)
                .or_else(|| iso_time(t))
                .ok_or_else(|| bad(TS, t))?,
        ),
    };
    let last = match (first, v[DURATION]) {
        (Some(f), Some(d)) => {
            let d = decimal_seconds(d).ok_or_else(|| bad(DURATION, d))?;
            Some(Timestamp(f.0 + d.max(0)))
        }
        (f, _) => f,
    };
    let mut counts = RecordCounts {
        packets: [count(ORIG_PKTS)?, count(RESP_PKTS)?],
        bytes: [count(ORIG_IP_BYTES)?, count(RESP_IP_BYTES)?],
        tcp: proto == crate::decode::PROTO_TCP,
        first,
        last,
        app: v[SERVICE].and_then(App::of_engine),
        ..RecordCounts::default()
    };
    match v[HISTORY].filter(|h| !h.is_empty()) {
        Some(h) => history(h, &mut counts),
        None => {
            if let Some(state) = v[CONN_STATE] {
                conn_state(state, &mut counts);
            }
        }
    }
    // Zeek logs a tunnel's own connection with the tunnel as its service,
    // and the connections inside it with their tunnel's uid as parents.
    let carrier = v[SERVICE].and_then(|s| {
        s.split(',').find_map(|name| match name {
            "vxlan" => Some(TunnelKind::Vxlan),
            "geneve" => Some(TunnelKind::Geneve),
            "gtpv1" => Some(TunnelKind::GtpU),
            "teredo" => Some(TunnelKind::Teredo),
            _ => None,
        })
    });
    Ok(Record {
        proto,
        carrier,
        inside: v[TUNNEL_PARENTS].is_some_and(|p| !p.is_empty()),
        first: Endpoint {
            addr: orig,
            port: orig_p,
        },
        second: Endpoint {
            addr: resp,
            port: resp_p,
        },
        counts,
    })
}

/// Zeek's history letters as TCP segments by side (docs/inputs.md#zeek).
/// Zeek writes a letter again only as its count reaches 1, 10, 100...:
/// each letter is one segment here, which decides the same initiator and
/// state.
fn history(h: &str, c: &mut RecordCounts) {
    if h.starts_with('^') {
        c.basis = Some(InitiatorBasis::RecordHeuristic);
    }
    if !c.tcp {
        return;
    }
    for letter in h.chars() {
        let side = usize::from(letter.is_ascii_lowercase());
        match letter.to_ascii_uppercase() {
            'S' => c.syns[side] += 1,
            'H' => c.synacks[side] += 1,
            'F' => c.fins[side] += 1,
            'R' => c.rsts[side] += 1,
            _ => {}
        }
    }
}

/// What `conn_state` says of the handshake, for a log without history.
fn conn_state(state: &str, c: &mut RecordCounts) {
    if !c.tcp {
        return;
    }
    match state {
        // A SYN never answered; half-open (SYN then FIN).
        "S0" | "SH" => c.syns[0] = 1,
        // A SYN answered by RST.
        "REJ" => {
            c.syns[0] = 1;
            c.rsts[1] = 1;
        }
        // Established, then open, closed or reset.
        "S1" | "S2" | "S3" | "SF" | "RSTO" | "RSTR" => {
            c.syns[0] = 1;
            c.synacks[1] = 1;
        }
        // The responder sent a SYN-ACK only; or never saw a SYN.
        "SHR" => c.synacks[1] = 1,
        _ => {}
    }
    match state {
        "RSTO" | "RSTOS0" => c.rsts[0] = c.rsts[0].max(1),
        "RSTR" | "RSTRH" => c.rsts[1] = c.rsts[1].max(1),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{PROTO_ICMPV6, PROTO_UDP};
    use proptest::prelude::Just;

    const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n\
        #unset_field\t-\n#path\tconn\n#open\t2019-01-01-00-00-00\n\
        #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t\
        orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t\
        orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n\
        #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t\
        string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";

    fn read(text: &str) -> Vec<Result<Line, LineError>> {
        let mut r = TsvReader::default();
        text.lines().map(|l| r.line(l.as_bytes())).collect()
    }

    fn records(text: &str) -> Vec<Record> {
        read(text)
            .into_iter()
            .filter_map(|l| match l {
                Ok(Line::Record(r)) => Some(r),
                Ok(Line::Other) => None,
                Ok(Line::Flow(..) | Line::Carried(_)) => {
                    panic!("a conn.log line read as a flow file's")
                }
                Err(e) => panic!("{e:?}"),
            })
            .collect()
    }

    proptest::proptest! {
        /// The word-at-a-time search finds every separator, in order.
        #[test]
        fn separators_are_all_found(
            line in proptest::collection::vec(proptest::prop_oneof![Just(9u8), Just(1u8), Just(0u8), proptest::prelude::any::<u8>()], 0..80),
            sep in proptest::prop_oneof![Just(9u8), Just(0u8), Just(1u8), proptest::prelude::any::<u8>()],
        ) {
            let mut found = Vec::new();
            separators(&line, sep, |at| found.push(at));
            let want: Vec<usize> = (0..line.len()).filter(|&i| line[i] == sep).collect();
            proptest::prop_assert_eq!(found, want);
        }
    }

    #[test]
    fn a_tcp_connection_with_its_handshake() {
        let text = format!(
            "{HEADER}1258531221.486539\tCHhAvVGS1DHFjwGM9\t192.168.1.102\t68\t192.168.1.1\t67\tudp\tdhcp\t0.163820\t301\t300\tSF\t-\t-\t0\tDd\t1\t329\t1\t328\t-\n\
             1258535653.078597\tC4J4Th3PJpwUYZZ6gc\t192.168.1.104\t1191\t65.54.95.64\t80\ttcp\thttp\t0.5\t100\t200\tSF\t-\t-\t0\tShADadfF\t6\t400\t5\t500\t-\n#close\t2019\n"
        );
        let rs = records(&text);
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].proto, PROTO_UDP);
        assert_eq!(
            rs[0].counts.first,
            Some(Timestamp(1_258_531_221_486_539_000))
        );
        assert_eq!(
            rs[0].counts.last,
            Some(Timestamp(1_258_531_221_650_359_000))
        );
        assert_eq!(rs[0].counts.syns, [0, 0], "no flags for UDP");
        let tcp = &rs[1];
        assert_eq!((tcp.first.port, tcp.second.port), (1191, 80));
        assert_eq!(tcp.counts.syns, [1, 0]);
        assert_eq!(tcp.counts.synacks, [0, 1]);
        assert_eq!(tcp.counts.fins, [1, 1]);
        assert_eq!(tcp.counts.packets, [6, 5]);
        assert_eq!(tcp.counts.bytes, [400, 500]);
        assert_eq!(tcp.counts.basis, Some(InitiatorBasis::Record));
    }

    #[test]
    fn flipped_history_is_inference() {
        let text = format!(
            "{HEADER}1.0\tC1\tfe80::1\t135\tff02::1\t0\ticmp\t-\t-\t-\t-\tOTH\t-\t-\t0\t^\t1\t72\t0\t0\t-\n"
        );
        let rs = records(&text);
        assert_eq!(rs[0].proto, PROTO_ICMPV6);
        assert_eq!(rs[0].counts.basis, Some(InitiatorBasis::RecordHeuristic));
    }

    #[test]
    fn conn_state_stands_in_for_history() {
        let mut c = RecordCounts {
            tcp: true,
            ..RecordCounts::default()
        };
        conn_state("REJ", &mut c);
        assert_eq!((c.syns, c.rsts), ([1, 0], [0, 1]));
    }

    #[test]
    fn bad_lines_say_why_and_the_rest_reads_on() {
        let text = format!(
            "{HEADER}x\tC1\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t-\t-\t-\tS0\t-\t-\t0\tS\t1\t60\t0\t0\t-\n\
             1.0\tC1\t10.0.0.1\t1\n\
             1.0\tC1\t10.0.0.300\t1\t10.0.0.2\t2\ttcp\t-\t-\t-\t-\tS0\t-\t-\t0\tS\t1\t60\t0\t0\t-\n\
             1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tunknown_transport\t-\t-\t-\t-\tOTH\t-\t-\t0\t-\t1\t60\t0\t0\t-\n\
             1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t-\t-\t-\tS0\t-\t-\t0\tS\t1\t60\t0\t0\t-\n"
        );
        let faults: Vec<Option<RecordFault>> = read(&text)
            .into_iter()
            .map(|l| l.err().map(|e| e.fault))
            .filter(|f| f.is_some())
            .collect();
        assert_eq!(
            faults,
            [
                Some(RecordFault::BadValue),
                Some(RecordFault::Malformed),
                Some(RecordFault::BadValue),
                Some(RecordFault::UnknownTransport)
            ]
        );
        let used = read(&text)
            .iter()
            .filter(|l| matches!(l, Ok(Line::Record(_))))
            .count();
        assert_eq!(used, 1, "the good line after the bad ones");
    }

    #[test]
    fn wrong_types_and_other_logs_are_bad_headers() {
        let wrong = HEADER.replace("\tport\taddr\tport", "\tstring\taddr\tport");
        let text = format!("{wrong}1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t-\t-\t-\tS0\t-\t-\t0\tS\t1\t60\t0\t0\t-\n");
        let errs: Vec<LineError> = read(&text).into_iter().filter_map(Result::err).collect();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].fault, RecordFault::BadHeader);
        assert!(
            errs[0].why.contains("id.orig_p the type string"),
            "{}",
            errs[0].why
        );
        let dns = "#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\n\
                   #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n1.0\tC\t1.1.1.1\t1\t2.2.2.2\t53\tudp\ta.b\n";
        let errs: Vec<LineError> = read(dns).into_iter().filter_map(Result::err).collect();
        assert!(errs[0].why.contains("a Zeek dns log"), "{}", errs[0].why);
        let before = read("1.0\tC1\n");
        assert_eq!(
            before[0].as_ref().unwrap_err().fault,
            RecordFault::BadHeader
        );
    }

    #[test]
    fn json_lines_flat_or_nested() {
        let mut r = JsonReader;
        let flat = br#"{"ts":1258535653.078597,"uid":"C4","id.orig_h":"192.168.1.104","id.orig_p":1191,"id.resp_h":"65.54.95.64","id.resp_p":80,"proto":"tcp","duration":0.5,"conn_state":"S0","history":"S","orig_pkts":2,"orig_ip_bytes":96,"resp_pkts":0,"resp_ip_bytes":0}"#;
        let Line::Record(a) = r.line(flat).unwrap() else {
            panic!()
        };
        assert_eq!(a.counts.first, Some(Timestamp(1_258_535_653_078_597_000)));
        assert_eq!(a.counts.syns, [1, 0]);
        let nested = br#"{"ts":"2009-11-18T09:14:13.078597Z","uid":"C4","id":{"orig_h":"192.168.1.104","orig_p":1191,"resp_h":"65.54.95.64","resp_p":80},"proto":"tcp","conn_state":"S0","history":"S"}"#;
        let Line::Record(b) = r.line(nested).unwrap() else {
            panic!()
        };
        assert_eq!(b.first, a.first);
        assert_eq!(b.counts.first, a.counts.first);
        let other = br#"{"ts":1.0,"uid":"C","id.orig_h":"1.1.1.1","id.orig_p":1,"id.resp_h":"2.2.2.2","id.resp_p":53,"proto":"udp","query":"a"}"#;
        assert_eq!(r.line(other).unwrap_err().fault, RecordFault::BadHeader);
        assert_eq!(r.line(b"{nope").unwrap_err().fault, RecordFault::Malformed);
    }
}
