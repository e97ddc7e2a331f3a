//! Classic libpcap files: both byte orders, micro- and nanosecond magic, and
//! the "modified" (Kuznetzov) variant with 24-byte record headers.

use super::damage::{Damage, DamageKind, FormatError};
use super::record::{Endian, LinkType, Record, Step, MAX_RECORD_LEN};
use super::Timestamp;

const MAGIC_USEC: u32 = 0xA1B2_C3D4;
const MAGIC_NSEC: u32 = 0xA1B2_3C4D;
const MAGIC_MODIFIED: u32 = 0xA1B2_CD34;

/// Walks the records of a classic pcap file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapWalker {
    endian: Endian,
    /// Sub-second units per second: 1e6 or 1e9.
    frac_per_sec: u64,
    /// 16, or 24 for the modified format.
    record_header_len: usize,
    link: LinkType,
}

impl PcapWalker {
    /// Bytes of the file header.
    pub(crate) const HEADER_LEN: usize = 24;

    pub(crate) fn recognises(magic: [u8; 4]) -> bool {
        [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED]
            .iter()
            .any(|&m| u32::from_le_bytes(magic) == m || u32::from_be_bytes(magic) == m)
    }

    /// Parses the 24-byte global header.
    pub(crate) fn from_header(buf: &[u8]) -> Result<Self, FormatError> {
        let le = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let endian = if [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED].contains(&le) {
            Endian::Little
        } else {
            Endian::Big
        };
        let magic = endian.u32(buf, 0);
        let major = endian.u16(buf, 4);
        let minor = endian.u16(buf, 6);
        if major != 2 {
            return Err(FormatError {
                offset: 4,
                kind: DamageKind::PcapVersion { major, minor },
            });
        }
        let network = endian.u32(buf, 20);
        // Bits 16-25 are reserved and must be zero; bits 26-31 carry the FCS
        // length, which decoding does not need (trailing bytes are ignored).
        let reserved = network & 0x03FF_0000;
        if reserved != 0 {
            return Err(FormatError {
                offset: 20,
                kind: DamageKind::LinkTypeReservedBits { network, reserved },
            });
        }
        Ok(PcapWalker {
            endian,
            frac_per_sec: if magic == MAGIC_NSEC {
                1_000_000_000
            } else {
                1_000_000
            },
            record_header_len: if magic == MAGIC_MODIFIED { 24 } else { 16 },
            link: LinkType(network & 0xFFFF),
        })
    }

    pub(crate) fn format_name(&self) -> &'static str {
        match (self.record_header_len, self.frac_per_sec) {
            (24, _) => "pcap (modified)",
            (_, 1_000_000_000) => "pcap (nanosecond)",
            _ => "pcap",
        }
    }

    /// The first position at or after `from` where a chain of plausible
    /// record headers starts: where a walk that begins mid-file may pick
    /// up. A guess, for speed only: the caller checks it against where the
    /// walk of the bytes before really ends.
    pub(crate) fn find_record(&self, buf: &[u8], from: usize) -> Option<usize> {
        const CHAIN: usize = 8;
        let hl = self.record_header_len;
        let e = self.endian;
        'candidates: for c in from..buf.len() {
            let mut p = c;
            let mut prev_secs: Option<u32> = None;
            let mut n = 0;
            while n < CHAIN && p + hl <= buf.len() {
                let secs = e.u32(buf, p);
                let frac = u64::from(e.u32(buf, p + 4));
                let caplen = e.u32(buf, p + 8) as usize;
                let day_apart = prev_secs.is_some_and(|s| s.abs_diff(secs) > 86_400);
                if frac >= self.frac_per_sec || caplen > MAX_RECORD_LEN || day_apart {
                    continue 'candidates;
                }
                prev_secs = Some(secs);
                n += 1;
                p += hl + caplen;
            }
            // Eight headers in a row, or at least two before the buffer
            // ends.
            if n >= 2 {
                return Some(c);
            }
        }
        None
    }

    #[inline]
    pub(crate) fn step<'a>(&mut self, buf: &'a [u8], pos: usize, base: u64) -> Step<'a> {
        let remaining = buf.len() - pos;
        if remaining == 0 {
            return Step::End;
        }
        let hl = self.record_header_len;
        if remaining < hl {
            return Step::NeedMore {
                need: hl - remaining,
            };
        }
        let e = self.endian;
        let caplen = e.u32(buf, pos + 8) as usize;
        if caplen > MAX_RECORD_LEN {
            return Step::Damaged(Damage {
                offset: base + pos as u64,
                kind: DamageKind::RecordTooLong { caplen },
            });
        }
        let total = hl + caplen;
        if remaining < total {
            return Step::NeedMore {
                need: total - remaining,
            };
        }
        let secs = e.u32(buf, pos) as i128;
        let frac = e.u32(buf, pos + 4) as u64;
        let orig_len = e.u32(buf, pos + 12);
        Step::Packet {
            record: Record {
                data: &buf[pos + hl..pos + total],
                orig_len,
                ts: Some(Timestamp::from_parts(secs, frac, self.frac_per_sec)),
                link: self.link,
                offset: base + pos as u64,
            },
            next: pos + total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(magic: u32, big: bool, major: u16, network: u32) -> Vec<u8> {
        let mut v = Vec::new();
        let put32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        put32(&mut v, magic);
        let put16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        put16(&mut v, major);
        put16(&mut v, 4);
        put32(&mut v, 0);
        put32(&mut v, 0);
        put32(&mut v, 65535);
        put32(&mut v, network);
        v
    }

    #[test]
    fn reads_big_endian_nanosecond_record() {
        let mut f = header(MAGIC_NSEC, true, 2, 1);
        f.extend_from_slice(&7u32.to_be_bytes());
        f.extend_from_slice(&5u32.to_be_bytes());
        f.extend_from_slice(&3u32.to_be_bytes());
        f.extend_from_slice(&60u32.to_be_bytes());
        f.extend_from_slice(&[1, 2, 3]);
        let mut w = PcapWalker::from_header(&f).unwrap();
        match w.step(&f, 24, 0) {
            Step::Packet { record, next } => {
                assert_eq!(record.data, &[1, 2, 3]);
                assert_eq!(record.orig_len, 60);
                assert_eq!(record.ts, Some(Timestamp(7_000_000_005)));
                assert_eq!(next, f.len());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(w.step(&f, f.len(), 0), Step::End));
    }

    #[test]
    fn cut_record_asks_for_more() {
        let mut f = header(MAGIC_USEC, false, 2, 1);
        f.extend_from_slice(&[0; 15]);
        let mut w = PcapWalker::from_header(&f).unwrap();
        assert!(matches!(w.step(&f, 24, 0), Step::NeedMore { need: 1 }));
    }

    #[test]
    fn rejects_bad_version_and_reserved_bits() {
        let f = header(MAGIC_USEC, false, 1, 1);
        assert_eq!(PcapWalker::from_header(&f).unwrap_err().offset, 4);
        let f = header(MAGIC_USEC, false, 2, 0x0030_0000);
        assert_eq!(PcapWalker::from_header(&f).unwrap_err().offset, 20);
    }

    #[test]
    fn huge_length_is_damage_not_allocation() {
        let mut f = header(MAGIC_USEC, false, 2, 1);
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        let mut w = PcapWalker::from_header(&f).unwrap();
        match w.step(&f, 24, 100) {
            Step::Damaged(d) => assert_eq!(d.offset, 124),
            other => panic!("{other:?}"),
        }
    }
}
