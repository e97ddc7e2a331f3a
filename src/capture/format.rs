//! Recognising an input by its first bytes, in one place: pcap (either
//! byte order, micro- or nanosecond), pcapng, or gzip around an input
//! ([`Container`]); or a file of flow records ([`RecordFormat`]).

use std::fmt;

use super::pcap::PcapWalker;
use super::pcapng::PcapngWalker;

/// What the first bytes of an input say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Pcap,
    Pcapng,
    Gzip,
}

impl Container {
    /// Bytes [`Container::sniff`] needs.
    pub const SNIFF_LEN: usize = 4;

    /// The container `head` starts, if any (`None` also when `head` is
    /// shorter than [`Container::SNIFF_LEN`]).
    pub fn sniff(head: &[u8]) -> Option<Container> {
        if head.starts_with(&[0x1F, 0x8B]) {
            return Some(Container::Gzip);
        }
        let magic: [u8; 4] = head.get(..4)?.try_into().ok()?;
        if PcapWalker::recognises(magic) {
            Some(Container::Pcap)
        } else if PcapngWalker::recognises(magic) {
            Some(Container::Pcapng)
        } else {
            None
        }
    }
}

/// A file of flow records portaudit reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordFormat {
    /// Zeek's conn.log as Zeek writes it: a `#separator` header, `#fields`
    /// and `#types`, tab-separated lines.
    ZeekTsv,
    /// Zeek's conn.log as JSON lines (`LogAscii::use_json`).
    ZeekJson,
    /// Suricata's EVE JSON lines; `flow` and `netflow` events are used.
    SuricataEve,
    /// IPFIX messages one after the other (RFC 7011; a file as RFC 5655
    /// writes it, or the datagrams a collector received, concatenated).
    Ipfix,
    /// NetFlow v5 or v9 export packets one after the other (v9 is
    /// RFC 3954); the datagrams a collector received, concatenated.
    Netflow,
    /// `portaudit flows --format ndjson`: a flow per line, each with its
    /// `flow_record`.
    PortauditNdjson,
    /// `portaudit flows -o x.parquet`.
    PortauditParquet,
}

impl RecordFormat {
    /// The format's name in reports (the FORMAT column).
    pub fn label(self) -> &'static str {
        match self {
            RecordFormat::ZeekTsv => "zeek-conn",
            RecordFormat::ZeekJson => "zeek-conn-json",
            RecordFormat::SuricataEve => "suricata-eve",
            RecordFormat::Ipfix => "ipfix",
            RecordFormat::Netflow => "netflow",
            RecordFormat::PortauditNdjson => "portaudit-flows",
            RecordFormat::PortauditParquet => "portaudit-flows-parquet",
        }
    }

    /// What the format's records can and cannot show, for the summary.
    pub fn caveat(self) -> &'static str {
        match self {
            RecordFormat::ZeekTsv | RecordFormat::ZeekJson => {
                "flow records: each line is one connection; initiators are Zeek's originators \
                 (its handshake letters as evidence, \"^\" as inference), bytes are IP bytes, \
                 no payload was seen (no RPC announcement learned)"
            }
            RecordFormat::SuricataEve => {
                "flow records: each flow event is one connection; initiators are Suricata's \
                 sources (its TCP flags as evidence), bytes as Suricata counts them, \
                 no payload was seen (no RPC announcement learned)"
            }
            RecordFormat::Ipfix | RecordFormat::Netflow => {
                "flow records: each record is one direction of a flow (or both, for RFC 5103 \
                 biflows); a record with SYN and no ACK is a client's, otherwise initiators \
                 are the port heuristic's; bytes are IP bytes, no payload was seen (no RPC announcement learned)"
            }
            RecordFormat::PortauditNdjson | RecordFormat::PortauditParquet => {
                "a portaudit flow file: each row is a flow whole, as `portaudit flows` built it \
                 from its inputs (whose damage, filter and limits that run reported); its \
                 records are flows"
            }
        }
    }

    /// The record format `head` (the input's first bytes, inflated) starts,
    /// if any: Zeek's header, or a first line that is a JSON object with a
    /// Zeek conn field or Suricata's `event_type`.
    pub fn sniff(head: &[u8]) -> Option<RecordFormat> {
        if let Some(binary) = sniff_export(head) {
            return Some(binary);
        }
        if head.starts_with(b"PAR1") {
            return Some(RecordFormat::PortauditParquet);
        }
        let text = trim_ascii_start(head);
        if text.starts_with(b"#separator") {
            return Some(RecordFormat::ZeekTsv);
        }
        if !text.starts_with(b"{") {
            return None;
        }
        let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
        let has = |name: &[u8]| memchr::memmem::find(line, name).is_some();
        // A flow file of no flows holds only its list of inputs.
        if has(b"\"flow_record\":{\"v\":") || line.starts_with(b"{\"portaudit_inputs\":") {
            Some(RecordFormat::PortauditNdjson)
        } else if has(b"\"event_type\"") {
            Some(RecordFormat::SuricataEve)
        } else if has(b"\"uid\"") && (has(b"\"id.orig_h\"") || has(b"\"orig_h\"")) {
            Some(RecordFormat::ZeekJson)
        } else {
            None
        }
    }
}

impl fmt::Display for RecordFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A NetFlow or IPFIX message header at the start of `head`, checked as
/// far as it can be without templates: version, a length or count the
/// format allows, and the first set's ID (templates or data, never one of
/// the reserved IDs).
fn sniff_export(head: &[u8]) -> Option<RecordFormat> {
    let u16_at = |at: usize| Some(u16::from_be_bytes(head.get(at..at + 2)?.try_into().ok()?));
    match u16_at(0)? {
        10 => {
            let length = usize::from(u16_at(2)?);
            let set = u16_at(16)?;
            let set_len = usize::from(u16_at(18)?);
            let set_ok = set == 2 || set == 3 || set >= 256;
            (length >= 20 && set_ok && set_len >= 4 && 16 + set_len <= length)
                .then_some(RecordFormat::Ipfix)
        }
        9 => {
            let count = u16_at(2)?;
            let set = u16_at(20)?;
            let set_len = u16_at(22)?;
            (count > 0 && (set <= 1 || set >= 256) && set_len >= 4).then_some(RecordFormat::Netflow)
        }
        5 => {
            // 1 to 30 records of 48 bytes after a 24-byte header; the next
            // header, when the head holds it, is another v5 one.
            let count = usize::from(u16_at(2)?);
            let next = 24 + count * 48;
            let ok = (1..=30).contains(&count)
                && head.len() >= 24 + 48
                && (head.len() < next + 2 || u16_at(next) == Some(5));
            ok.then_some(RecordFormat::Netflow)
        }
        _ => None,
    }
}

/// `b` without its leading ASCII whitespace.
fn trim_ascii_start(b: &[u8]) -> &[u8] {
    let skip = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[skip..]
}

#[cfg(test)]
mod record_format_tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            RecordFormat::sniff(b"#separator \\x09\n#set_separator\t,\n"),
            Some(RecordFormat::ZeekTsv)
        );
        assert_eq!(
            RecordFormat::sniff(b"{\"ts\":1.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\"}\n"),
            Some(RecordFormat::ZeekJson)
        );
        assert_eq!(
            RecordFormat::sniff(b"{\"timestamp\":\"x\",\"event_type\":\"flow\"}\n"),
            Some(RecordFormat::SuricataEve)
        );
        assert_eq!(RecordFormat::sniff(b"{\"a\":1}\n"), None);
        assert_eq!(RecordFormat::sniff(b"\xd4\xc3\xb2\xa1"), None);
    }
}
