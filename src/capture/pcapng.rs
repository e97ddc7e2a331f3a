//! pcapng: several sections of either byte order, interfaces with their own
//! link type, snap length and timestamp resolution (`if_tsresol`,
//! `if_tsoffset`); Enhanced, Simple and obsolete Packet Blocks. Every other
//! block (statistics, name resolution, custom, unknown) is stepped over.

use super::damage::{Damage, DamageKind, FormatError};
use super::record::{Endian, LinkType, Record, RecordSkip, Step, MAX_BLOCK_LEN};
use super::Timestamp;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Largest block accepted: a maximal record plus generous room for options.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// `if_tsresol`: high bit set = 2^-n seconds, else 10^-n.
    tsresol: u8,
    /// `if_tsoffset`, seconds added to every timestamp.
    tsoffset: i64,
}

impl Interface {
    fn timestamp(&self, ticks: u64) -> Timestamp {
        let ticks = ticks as i128;
        let nanos = if self.tsresol & 0x80 != 0 {
            let shift = u32::from(self.tsresol & 0x7F);
            (ticks * 1_000_000_000) >> shift.min(127)
        } else {
            let exp = u32::from(self.tsresol);
            if exp <= 9 {
                ticks * 10i128.pow(9 - exp)
            } else if exp <= 38 {
                ticks / 10i128.pow(exp - 9)
            } else {
                0
            }
        };
        Timestamp(nanos + i128::from(self.tsoffset) * 1_000_000_000)
    }
}

/// Walks the blocks of a pcapng file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapngWalker {
    endian: Endian,
    interfaces: Vec<Interface>,
}

impl PcapngWalker {
    /// Whether `magic` starts a section header block (the same bytes in
    /// either byte order).
    pub(crate) fn recognises(magic: [u8; 4]) -> bool {
        u32::from_le_bytes(magic) == SHB
    }

    /// Checks the first Section Header Block far enough to reject files that
    /// are not pcapng 1.x; the walk itself starts at byte 0 with that block.
    pub(crate) fn open(buf: &[u8]) -> Result<Option<(Self, usize)>, FormatError> {
        if buf.len() < 16 {
            return Ok(None);
        }
        let endian = section_endian(buf, 0).ok_or(FormatError {
            offset: 8,
            kind: DamageKind::ByteOrderMagic,
        })?;
        let (major, minor) = (endian.u16(buf, 12), endian.u16(buf, 14));
        if major != 1 {
            return Err(FormatError {
                offset: 12,
                kind: DamageKind::PcapngVersion { major, minor },
            });
        }
        let walker = PcapngWalker {
            endian,
            interfaces: Vec::new(),
        };
        // The first block defines the file: if its framing is corrupt there
        // is nothing to read (damage inside its options is only reported).
        // The walk proper starts again at byte 0 with a fresh walker.
        match walker.clone().step(buf, 0, 0) {
            Step::NeedMore { .. } => Ok(None),
            Step::Damaged(d) => Err(d.into()),
            _ => Ok(Some((walker, 0))),
        }
    }

    /// The first position at or after `from` where a chain of plausible
    /// blocks of this section starts; `base` is the input offset of
    /// `buf[0]` (blocks start at multiples of 4 in the file). A guess, for
    /// speed only: the caller checks it against where the walk of the
    /// bytes before really ends.
    pub(crate) fn find_block(&self, buf: &[u8], from: usize, base: u64) -> Option<usize> {
        const CHAIN: usize = 4;
        let e = self.endian;
        let misalign = ((base + from as u64) % 4) as usize;
        let mut c = from + (4 - misalign) % 4;
        'candidates: while c + 12 <= buf.len() {
            let (mut p, mut n) = (c, 0);
            while n < CHAIN && p + 12 <= buf.len() {
                let block_type = e.u32(buf, p);
                let total = e.u32(buf, p + 4) as usize;
                let known = matches!(
                    block_type,
                    IDB | PB | SPB | EPB | 4 | 5 | 9 | 0x0A | 0x0BAD | 0x4000_0BAD
                );
                if !known || total < 12 || total % 4 != 0 || total > MAX_BLOCK_LEN {
                    c += 4;
                    continue 'candidates;
                }
                if p + total > buf.len() {
                    break;
                }
                let id_ok = match block_type {
                    EPB => (e.u32(buf, p + 8) as usize) < self.interfaces.len(),
                    PB => (e.u16(buf, p + 8) as usize) < self.interfaces.len(),
                    _ => true,
                };
                if e.u32(buf, p + total - 4) as usize != total || !id_ok {
                    c += 4;
                    continue 'candidates;
                }
                n += 1;
                p += total;
            }
            if n >= 2 || (n == 1 && p + 12 > buf.len()) {
                return Some(c);
            }
            c += 4;
        }
        None
    }

    #[inline]
    pub(crate) fn step<'a>(&mut self, buf: &'a [u8], pos: usize, base: u64) -> Step<'a> {
        let remaining = buf.len() - pos;
        if remaining == 0 {
            return Step::End;
        }
        if remaining < 12 {
            return Step::NeedMore {
                need: 12 - remaining,
            };
        }
        let at = base + pos as u64;
        let damaged = |kind: DamageKind| Step::Damaged(Damage { offset: at, kind });
        let block_type = self.endian.u32(buf, pos);
        if block_type == SHB {
            match section_endian(buf, pos) {
                Some(e) => self.endian = e,
                None => return damaged(DamageKind::SectionByteOrder),
            }
        }
        let e = self.endian;
        let total = e.u32(buf, pos + 4) as usize;
        if total < 12 || total % 4 != 0 || total > MAX_BLOCK_LEN {
            return damaged(DamageKind::BlockLength { block_type, total });
        }
        if remaining < total {
            return Step::NeedMore {
                need: total - remaining,
            };
        }
        let trailer = e.u32(buf, pos + total - 4) as usize;
        if trailer != total {
            return damaged(DamageKind::BlockTrailer {
                block_type,
                total,
                trailer,
            });
        }
        let body = &buf[pos + 8..pos + total - 4];
        let next = pos + total;
        let body_at = at + 8;
        match block_type {
            SHB => self.section_header(body, body_at, next),
            IDB => self.interface_description(body, body_at, next),
            EPB => self.enhanced_packet(body, body_at, at, next),
            PB => self.obsolete_packet(body, body_at, at, next),
            SPB => self.simple_packet(body, body_at, at, next),
            _ => Step::Block { next, damage: None },
        }
    }

    fn section_header<'a>(&mut self, body: &[u8], body_at: u64, next: usize) -> Step<'a> {
        if body.len() < 16 {
            return Step::Damaged(Damage {
                offset: body_at - 8,
                kind: DamageKind::SectionHeaderTooShort {
                    len: body.len() + 12,
                },
            });
        }
        let (major, minor) = (self.endian.u16(body, 4), self.endian.u16(body, 6));
        if major != 1 {
            return Step::Damaged(Damage {
                offset: body_at + 4,
                kind: DamageKind::SectionVersion { major, minor },
            });
        }
        self.interfaces.clear();
        let damage = check_options(self.endian, &body[16..], body_at + 16, |_, _| {}).err();
        Step::Block { next, damage }
    }

    fn interface_description<'a>(&mut self, body: &[u8], body_at: u64, next: usize) -> Step<'a> {
        if body.len() < 8 {
            return Step::Block {
                next,
                damage: Some(Damage {
                    offset: body_at - 8,
                    kind: DamageKind::InterfaceTooShort,
                }),
            };
        }
        let e = self.endian;
        let mut iface = Interface {
            link: LinkType(u32::from(e.u16(body, 0))),
            snaplen: e.u32(body, 4),
            tsresol: 6,
            tsoffset: 0,
        };
        let damage = check_options(e, &body[8..], body_at + 8, |code, value| match code {
            9 if value.len() == 1 => iface.tsresol = value[0],
            14 if value.len() == 8 => iface.tsoffset = e.u64(value, 0) as i64,
            _ => {}
        })
        .err();
        // The interface exists even if its options are damaged: its packets
        // are still readable, with the default resolution.
        self.interfaces.push(iface);
        Step::Block { next, damage }
    }

    fn interface(&self, id: u32) -> Option<&Interface> {
        self.interfaces.get(id as usize)
    }

    fn enhanced_packet<'a>(&self, body: &'a [u8], body_at: u64, at: u64, next: usize) -> Step<'a> {
        self.timed_packet(body, body_at, at, next, 20, |e, b| {
            (
                e.u32(b, 0),
                e.u32(b, 4),
                e.u32(b, 8),
                e.u32(b, 12),
                e.u32(b, 16),
            )
        })
    }

    fn obsolete_packet<'a>(&self, body: &'a [u8], body_at: u64, at: u64, next: usize) -> Step<'a> {
        self.timed_packet(body, body_at, at, next, 20, |e, b| {
            (
                u32::from(e.u16(b, 0)),
                e.u32(b, 4),
                e.u32(b, 8),
                e.u32(b, 12),
                e.u32(b, 16),
            )
        })
    }

    /// EPB and PB share a layout up to the width of the interface id:
    /// `fields` returns (interface, ts high, ts low, caplen, origlen).
    fn timed_packet<'a>(
        &self,
        body: &'a [u8],
        body_at: u64,
        at: u64,
        next: usize,
        fixed: usize,
        fields: impl Fn(Endian, &[u8]) -> (u32, u32, u32, u32, u32),
    ) -> Step<'a> {
        if body.len() < fixed {
            return corrupt_packet(next, body_at - 8, DamageKind::PacketBlockTooShort);
        }
        let (id, hi, lo, caplen, orig_len) = fields(self.endian, body);
        let Some(iface) = self.interface(id) else {
            return Step::Skipped {
                skip: RecordSkip::UnknownInterface,
                next,
                damage: None,
            };
        };
        let caplen = caplen as usize;
        if caplen > body.len() - fixed {
            return corrupt_packet(
                next,
                body_at + 12,
                DamageKind::PacketOverrun {
                    caplen,
                    holds: body.len() - fixed,
                },
            );
        }
        let ticks = (u64::from(hi) << 32) | u64::from(lo);
        Step::Packet {
            record: Record {
                data: &body[fixed..fixed + caplen],
                orig_len,
                ts: Some(iface.timestamp(ticks)),
                link: iface.link,
                offset: at,
            },
            next,
        }
    }

    fn simple_packet<'a>(&self, body: &'a [u8], body_at: u64, at: u64, next: usize) -> Step<'a> {
        if body.len() < 4 {
            return corrupt_packet(next, body_at - 8, DamageKind::SimplePacketTooShort);
        }
        let Some(iface) = self.interface(0) else {
            return Step::Skipped {
                skip: RecordSkip::UnknownInterface,
                next,
                damage: None,
            };
        };
        let orig_len = self.endian.u32(body, 0);
        let mut caplen = (orig_len as usize).min(body.len() - 4);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        Step::Packet {
            record: Record {
                data: &body[4..4 + caplen],
                orig_len,
                ts: None,
                link: iface.link,
                offset: at,
            },
            next,
        }
    }
}

fn corrupt_packet<'a>(next: usize, offset: u64, kind: DamageKind) -> Step<'a> {
    Step::Skipped {
        skip: RecordSkip::CorruptBlock,
        next,
        damage: Some(Damage { offset, kind }),
    }
}

/// The byte order of the section whose header starts at `pos`.
fn section_endian(buf: &[u8], pos: usize) -> Option<Endian> {
    let m = [buf[pos + 8], buf[pos + 9], buf[pos + 10], buf[pos + 11]];
    if u32::from_le_bytes(m) == BYTE_ORDER_MAGIC {
        Some(Endian::Little)
    } else if u32::from_be_bytes(m) == BYTE_ORDER_MAGIC {
        Some(Endian::Big)
    } else {
        None
    }
}

/// Walks a block's options, calling `each(code, value)`; an option that
/// overruns the block is damage at its offset.
fn check_options(
    e: Endian,
    mut opts: &[u8],
    mut at: u64,
    mut each: impl FnMut(u16, &[u8]),
) -> Result<(), Damage> {
    while opts.len() >= 4 {
        let code = e.u16(opts, 0);
        let len = e.u16(opts, 2) as usize;
        if code == 0 {
            return Ok(());
        }
        let padded = (len + 3) & !3;
        if 4 + padded > opts.len() {
            return Err(Damage {
                offset: at,
                kind: DamageKind::OptionOverrun {
                    code,
                    len,
                    remain: opts.len() - 4,
                },
            });
        }
        each(code, &opts[4..4 + len]);
        opts = &opts[4 + padded..];
        at += 4 + padded as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(big: bool, kind: u32, body: &[u8]) -> Vec<u8> {
        let p = |x: u32| {
            if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        };
        let mut padded = body.to_vec();
        while padded.len() % 4 != 0 {
            padded.push(0);
        }
        let total = (padded.len() + 12) as u32;
        let mut v = p(kind).to_vec();
        v.extend_from_slice(&p(total));
        v.extend_from_slice(&padded);
        v.extend_from_slice(&p(total));
        v
    }

    fn shb(big: bool) -> Vec<u8> {
        let mut body = if big {
            BYTE_ORDER_MAGIC.to_be_bytes().to_vec()
        } else {
            BYTE_ORDER_MAGIC.to_le_bytes().to_vec()
        };
        let v16 = |x: u16| {
            if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        };
        body.extend_from_slice(&v16(1));
        body.extend_from_slice(&v16(0));
        body.extend_from_slice(&[0xFF; 8]);
        block(big, SHB, &body)
    }

    fn idb_with_tsresol(resol: u8) -> Vec<u8> {
        let mut body = vec![1, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&[9, 0, 1, 0, resol, 0, 0, 0, 0, 0, 0, 0]);
        block(false, IDB, &body)
    }

    fn walk(buf: &[u8]) -> Vec<String> {
        let (mut w, mut pos) = PcapngWalker::open(buf).unwrap().unwrap();
        let mut out = Vec::new();
        loop {
            match w.step(buf, pos, 0) {
                Step::Packet { record, next } => {
                    out.push(format!(
                        "pkt {:?} {}",
                        record.ts.map(|t| t.0),
                        record.data.len()
                    ));
                    pos = next;
                }
                Step::Block { next, damage } => {
                    out.push(format!("blk {:?}", damage.map(|d| d.offset)));
                    pos = next;
                }
                Step::Skipped { skip, next, .. } => {
                    out.push(format!("skip {}", skip.label()));
                    pos = next;
                }
                Step::End => break,
                other => {
                    out.push(format!("{other:?}"));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn tsresol_binary_and_decimal() {
        let mut f = shb(false);
        f.extend(idb_with_tsresol(9));
        f.extend(idb_with_tsresol(0x80 | 10));
        let mut epb = |iface: u32, ticks: u64| {
            let mut b = iface.to_le_bytes().to_vec();
            b.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
            b.extend_from_slice(&(ticks as u32).to_le_bytes());
            b.extend_from_slice(&2u32.to_le_bytes());
            b.extend_from_slice(&60u32.to_le_bytes());
            b.extend_from_slice(&[0xAB, 0xCD]);
            f.extend(block(false, EPB, &b));
        };
        epb(0, 1_500_000_000);
        epb(1, 3 * 1024 + 512);
        epb(7, 0);
        assert_eq!(
            walk(&f),
            vec![
                "blk None",
                "blk None",
                "blk None",
                "pkt Some(1500000000) 2",
                "pkt Some(3500000000) 2",
                "skip pcapng-unknown-interface"
            ]
        );
    }

    #[test]
    fn second_section_switches_byte_order_and_resets_interfaces() {
        let mut f = shb(false);
        f.extend(idb_with_tsresol(6));
        f.extend(shb(true));
        // A big-endian SPB in the new section has no interface yet.
        f.extend(block(true, SPB, &[0, 0, 0, 1, 0xEE, 0, 0, 0]));
        assert_eq!(
            walk(&f),
            vec![
                "blk None",
                "blk None",
                "blk None",
                "skip pcapng-unknown-interface"
            ]
        );
    }

    #[test]
    fn option_overrun_is_damage_but_walk_goes_on() {
        let mut f = shb(false);
        let mut body = vec![1, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&[2, 0, 0x30, 0x30, 0, 0, 0, 0]);
        f.extend(block(false, IDB, &body));
        let out = walk(&f);
        assert_eq!(out[1], "blk Some(44)");
    }

    #[test]
    fn mismatched_trailer_is_fatal() {
        let mut bad = shb(false);
        let n = bad.len();
        bad[n - 1] ^= 0x10;
        // As the first block, it makes the file unreadable...
        let e = PcapngWalker::open(&bad).unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(matches!(e.kind, DamageKind::BlockTrailer { .. }), "{e}");
        assert!(e.to_string().contains("ends with length"), "{e}");
        // ...later, it stops the walk where it starts.
        let mut f = shb(false);
        f.extend_from_slice(&bad);
        let out = walk(&f);
        assert!(out[1].starts_with("Damaged"), "{out:?}");
    }
}
