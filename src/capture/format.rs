//! Recognising an input by its first bytes, in one place: pcap (either
//! byte order, micro- or nanosecond), pcapng, or gzip around one of them.

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
}

impl RecordFormat {
    /// The format's name in reports (the FORMAT column).
    pub fn label(self) -> &'static str {
        match self {
            RecordFormat::ZeekTsv => "zeek-conn",
            RecordFormat::ZeekJson => "zeek-conn-json",
            RecordFormat::SuricataEve => "suricata-eve",
        }
    }

    /// What the format's records can and cannot show, for the summary.
    pub fn caveat(self) -> &'static str {
        match self {
            RecordFormat::ZeekTsv | RecordFormat::ZeekJson => {
                "flow records: each line is one connection; initiators are Zeek's originators \
                 (its handshake letters as evidence, \"^\" as inference), bytes are IP bytes, \
                 no payload was seen"
            }
            RecordFormat::SuricataEve => {
                "flow records: each flow event is one connection; initiators are Suricata's \
                 sources (its TCP flags as evidence), bytes as Suricata counts them, \
                 no payload was seen"
            }
        }
    }

    /// The record format `head` (the input's first bytes, inflated) starts,
    /// if any: Zeek's header, or a first line that is a JSON object with a
    /// Zeek conn field or Suricata's `event_type`.
    pub fn sniff(head: &[u8]) -> Option<RecordFormat> {
        let text = trim_ascii_start(head);
        if text.starts_with(b"#separator") {
            return Some(RecordFormat::ZeekTsv);
        }
        if !text.starts_with(b"{") {
            return None;
        }
        let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
        let has = |name: &[u8]| memchr::memmem::find(line, name).is_some();
        if has(b"\"event_type\"") {
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
