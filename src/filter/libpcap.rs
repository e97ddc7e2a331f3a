//! Compiling filter expressions with libpcap (the `libpcap` feature).

use super::bpf::{Insn, Program};
use crate::capture::LinkType;

/// Compiles `expression` for packets of `link`, optimised, as `tcpdump -r`
/// compiles it for a capture file of that link type: libpcap compiles a
/// few things differently for files than for a live or "dead" handle (on
/// BSD loopback, IPv6 is any of the address families BSDs use, not this
/// machine's), so the expression is compiled against an empty capture
/// file, in this machine's byte order, written for the purpose. The error
/// is libpcap's message.
pub fn compile(expression: &str, link: LinkType) -> Result<Program, String> {
    let file = EmptyCapture::write(link).map_err(|e| format!("cannot compile a filter: {e}"))?;
    let capture = ::pcap::Capture::from_file(&file.0).map_err(|e| e.to_string())?;
    let compiled = capture.compile(expression, true).map_err(|e| match e {
        ::pcap::Error::PcapError(m) => m,
        other => other.to_string(),
    })?;
    let insns = compiled
        .get_instructions()
        .iter()
        .map(|i| parse_insn(&i.to_string()))
        .collect::<Option<Vec<Insn>>>()
        .ok_or("libpcap gave an instruction that cannot be read")?;
    Program::new(insns).map_err(|e| e.to_string())
}

/// A capture file with a header and no packet, removed when dropped.
struct EmptyCapture(std::path::PathBuf);

impl EmptyCapture {
    fn write(link: LinkType) -> std::io::Result<EmptyCapture> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "portaudit-filter-{}-{}.pcap",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_ne_bytes());
        header.extend_from_slice(&2u16.to_ne_bytes());
        header.extend_from_slice(&4u16.to_ne_bytes());
        header.extend_from_slice(&0i32.to_ne_bytes());
        header.extend_from_slice(&0u32.to_ne_bytes());
        header.extend_from_slice(&262_144u32.to_ne_bytes());
        header.extend_from_slice(&link.0.to_ne_bytes());
        std::fs::write(&path, header)?;
        Ok(EmptyCapture(path))
    }
}

impl Drop for EmptyCapture {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An instruction as the pcap crate prints it: `code jt jf k`.
fn parse_insn(text: &str) -> Option<Insn> {
    let mut f = text.split_ascii_whitespace();
    let insn = Insn {
        code: f.next()?.parse().ok()?,
        jt: f.next()?.parse().ok()?,
        jf: f.next()?.parse().ok()?,
        k: f.next()?.parse().ok()?,
    };
    f.next().is_none().then_some(insn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_per_link_type_and_reports_libpcap_errors() {
        let p = compile("tcp port 443", LinkType::ETHERNET).unwrap();
        // The Ethernet program looks at the ethertype at offset 12 first.
        assert_eq!(
            p.insns()[0],
            Insn {
                code: 0x28,
                jt: 0,
                jf: 0,
                k: 12
            }
        );
        assert!(compile("tcp port 443", LinkType::RAW).is_ok());
        let e = compile("ether host 00:11:22:33:44:55", LinkType::RAW).unwrap_err();
        assert!(e.contains("supported only on ethernet"), "{e}");
        let e = compile("tcp prt 443", LinkType::ETHERNET).unwrap_err();
        assert!(e.contains("syntax error"), "{e}");
        // As for a file: IPv6 on BSD loopback is any BSD's family number.
        let p = compile("ip6", LinkType::NULL).unwrap();
        assert!(
            p.insns().iter().any(|i| i.k == 0x1e00_0000),
            "{:?}",
            p.insns()
        );
        assert!(
            !std::fs::read_dir(std::env::temp_dir()).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("portaudit-filter-{}-", std::process::id()))),
            "the empty captures are removed"
        );
    }

    #[test]
    fn parses_the_printed_instruction() {
        assert_eq!(
            parse_insn("21 0 5 2048"),
            Some(Insn {
                code: 21,
                jt: 0,
                jf: 5,
                k: 2048
            })
        );
        assert_eq!(parse_insn("21 0 5"), None);
        assert_eq!(parse_insn("21 0 5 1 2"), None);
    }
}
