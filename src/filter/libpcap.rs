//! Compiling filter expressions with libpcap (the `libpcap` feature).

use super::bpf::{Insn, Program};
use crate::capture::LinkType;

/// Compiles `expression` for packets of `link`, optimised as tcpdump
/// does. The error is libpcap's message.
pub fn compile(expression: &str, link: LinkType) -> Result<Program, String> {
    let dlt = ::pcap::Linktype(dlt_of(link));
    let dead = ::pcap::Capture::dead(dlt).map_err(|e| e.to_string())?;
    let compiled = dead.compile(expression, true).map_err(|e| match e {
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

/// The DLT value libpcap's compiler knows a file's LINKTYPE value by: most
/// are equal, a few (raw IP above all) differ, as libpcap maps them when
/// it reads a file itself.
fn dlt_of(link: LinkType) -> i32 {
    match link.0 {
        // LINKTYPE_RAW, and OpenBSD's DLT_RAW, which we read as raw IP too.
        101 | 14 => 12,
        100 => 11, // ATM_RFC1483
        102 => 15, // SLIP_BSDOS
        103 => 16, // PPP_BSDOS
        106 => 19, // ATM_CLIP (Linux)
        n => i32::try_from(n).unwrap_or(-1),
    }
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
