//! A classic BPF program and its interpreter: what libpcap's
//! `pcap_offline_filter` does to a packet, in safe Rust, so that a program
//! compiled once runs on every worker without a lock or a foreign call.
//!
//! The semantics are libpcap's `bpf_filter.c`: loads past the captured
//! bytes and divisions by zero reject the packet, shifts of 32 or more give
//! zero, arithmetic wraps, and `len` is the length on the wire. A program
//! is checked as libpcap's `bpf_validate` checks it before it can run, so
//! the interpreter never indexes out of bounds.

use std::fmt;

/// One instruction, as `struct bpf_insn` holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Instruction classes.
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
// Load sizes.
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
// Load modes.
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
// ALU operations.
const ADD: u16 = 0x00;
const SUB: u16 = 0x10;
const MUL: u16 = 0x20;
const DIV: u16 = 0x30;
const OR: u16 = 0x40;
const AND: u16 = 0x50;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const MOD: u16 = 0x90;
const XOR: u16 = 0xa0;
// Jumps.
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;
// Operand source (ALU, JMP) and return value (RET).
const K: u16 = 0x00;
const X: u16 = 0x08;
const RET_A: u16 = 0x10;
// MISC.
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

/// Scratch memory words.
const MEMWORDS: u32 = 16;

/// Why a program cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidProgram {
    /// Index of the offending instruction.
    pub at: usize,
    pub what: &'static str,
}

impl fmt::Display for InvalidProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid BPF program: instruction {}: {}",
            self.at, self.what
        )
    }
}

impl std::error::Error for InvalidProgram {}

/// A validated classic BPF program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
    /// The same instructions decoded once, so that running one is a single
    /// dispatch.
    ops: Vec<Op>,
}

/// Where an operand comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    K(u32),
    X,
}

/// A validated instruction, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A = the `size` bytes at k (absolute) or X + k (indexed).
    LdAbs {
        size: u8,
        k: u32,
    },
    LdInd {
        size: u8,
        k: u32,
    },
    LdLen,
    LdImm(u32),
    LdMem(usize),
    /// X = 4 * (the low nibble of the byte at k): an IPv4 header length.
    LdxMsh(u32),
    LdxLen,
    LdxImm(u32),
    LdxMem(usize),
    St(usize),
    Stx(usize),
    Alu {
        op: u16,
        src: Src,
    },
    Neg,
    Ja(usize),
    Jump {
        op: u16,
        src: Src,
        jt: usize,
        jf: usize,
    },
    RetK(u32),
    RetA,
    RetX,
    Tax,
    Txa,
    /// What libpcap's interpreter would reject the packet on.
    Reject,
}

impl Op {
    /// Checks instruction `at` of a program `len` long as `bpf_validate`
    /// does, and decodes it; the error says what is wrong.
    fn decode(i: Insn, at: usize, len: usize) -> Result<Op, &'static str> {
        if i.code > 0xff || (i.code & 0x07 <= LDX && i.code & 0x18 == 0x18) {
            return Err("unknown opcode");
        }
        let size = match i.code & 0x18 {
            W => 4,
            H => 2,
            _ => 1,
        };
        let src = if i.code & X == X { Src::X } else { Src::K(i.k) };
        let mem = || {
            (i.k < MEMWORDS)
                .then_some(i.k as usize)
                .ok_or("scratch memory index out of range")
        };
        let op = i.code & 0xf0;
        // Jumps are relative to the next instruction.
        let from = at + 1;
        Ok(match i.code & 0x07 {
            LD => match i.code & 0xe0 {
                ABS => Op::LdAbs { size, k: i.k },
                IND => Op::LdInd { size, k: i.k },
                LEN => Op::LdLen,
                IMM => Op::LdImm(i.k),
                MEM => Op::LdMem(mem()?),
                _ => return Err("unknown load mode"),
            },
            LDX => match i.code & 0xe0 {
                MSH if i.code == LDX | B | MSH => Op::LdxMsh(i.k),
                LEN => Op::LdxLen,
                IMM => Op::LdxImm(i.k),
                MEM => Op::LdxMem(mem()?),
                // libpcap accepts ABS and IND for LDX too, and its
                // interpreter then rejects the packet.
                ABS | IND => Op::Reject,
                _ => return Err("unknown load mode"),
            },
            ST => Op::St(mem()?),
            STX => Op::Stx(mem()?),
            ALU => match op {
                DIV | MOD if src == Src::K(0) => return Err("division by a constant zero"),
                NEG => Op::Neg,
                ADD | SUB | MUL | DIV | OR | AND | LSH | RSH | MOD | XOR => Op::Alu { op, src },
                _ => return Err("unknown arithmetic operation"),
            },
            JMP => match op {
                JA if (i.k as usize) < len - from => Op::Ja(i.k as usize),
                JEQ | JGT | JGE | JSET
                    if from + (i.jt as usize) < len && from + (i.jf as usize) < len =>
                {
                    Op::Jump {
                        op,
                        src,
                        jt: usize::from(i.jt),
                        jf: usize::from(i.jf),
                    }
                }
                JA | JEQ | JGT | JGE | JSET => return Err("jump past the end"),
                _ => return Err("unknown jump"),
            },
            RET => match i.code & 0x18 {
                K => Op::RetK(i.k),
                X => Op::RetX,
                RET_A => Op::RetA,
                _ => Op::Reject,
            },
            MISC => match i.code & 0xf8 {
                TAX => Op::Tax,
                TXA => Op::Txa,
                _ => Op::Reject,
            },
            _ => unreachable!("the class is three bits"),
        })
    }
}

/// The `size` bytes at `at`, big-endian; `None` past the captured bytes.
#[inline(always)]
fn load(data: &[u8], at: u64, size: u8) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    match size {
        4 => data
            .get(at..at.checked_add(4)?)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        2 => data
            .get(at..at.checked_add(2)?)
            .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]]))),
        _ => data.get(at).map(|&b| u32::from(b)),
    }
}

impl Program {
    /// Checks `insns` as `bpf_validate` does: known opcodes, scratch
    /// indices below 16, no division by a constant zero, every jump inside
    /// the program, and a return at the end.
    pub fn new(insns: Vec<Insn>) -> Result<Program, InvalidProgram> {
        let len = insns.len();
        if len == 0 {
            return Err(InvalidProgram {
                at: 0,
                what: "the program is empty",
            });
        }
        let ops = insns
            .iter()
            .enumerate()
            .map(|(at, &i)| Op::decode(i, at, len).map_err(|what| InvalidProgram { at, what }))
            .collect::<Result<Vec<Op>, InvalidProgram>>()?;
        if insns[len - 1].code & 0x07 != RET {
            return Err(InvalidProgram {
                at: len - 1,
                what: "the program does not end with a return",
            });
        }
        Ok(Program { insns, ops })
    }

    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Runs the program on a packet: `data` as captured, `wire_len` its
    /// length on the wire. Returns the snap length the program asks for; 0
    /// rejects the packet.
    pub fn run(&self, data: &[u8], wire_len: u32) -> u32 {
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; MEMWORDS as usize];
        let mut pc = 0usize;
        loop {
            // Validation puts a return at the end and every jump inside;
            // past the end is rejected all the same.
            let Some(&op) = self.ops.get(pc) else {
                return 0;
            };
            pc += 1;
            match op {
                Op::LdAbs { size, k } => match load(data, u64::from(k), size) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdInd { size, k } => match load(data, u64::from(x) + u64::from(k), size) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdLen => a = wire_len,
                Op::LdImm(k) => a = k,
                Op::LdMem(m) => a = mem[m],
                Op::LdxMsh(k) => match load(data, u64::from(k), 1) {
                    Some(v) => x = (v & 0xf) << 2,
                    None => return 0,
                },
                Op::LdxLen => x = wire_len,
                Op::LdxImm(k) => x = k,
                Op::LdxMem(m) => x = mem[m],
                Op::St(m) => mem[m] = a,
                Op::Stx(m) => mem[m] = x,
                Op::Alu { op, src } => {
                    let v = match src {
                        Src::K(k) => k,
                        Src::X => x,
                    };
                    a = match op {
                        ADD => a.wrapping_add(v),
                        SUB => a.wrapping_sub(v),
                        MUL => a.wrapping_mul(v),
                        DIV | MOD if v == 0 => return 0,
                        DIV => a / v,
                        MOD => a % v,
                        AND => a & v,
                        OR => a | v,
                        XOR => a ^ v,
                        LSH => a.checked_shl(v).unwrap_or(0),
                        RSH => a.checked_shr(v).unwrap_or(0),
                        _ => return 0,
                    };
                }
                Op::Neg => a = a.wrapping_neg(),
                Op::Ja(k) => pc += k,
                Op::Jump { op, src, jt, jf } => {
                    let v = match src {
                        Src::K(k) => k,
                        Src::X => x,
                    };
                    let taken = match op {
                        JEQ => a == v,
                        JGT => a > v,
                        JGE => a >= v,
                        JSET => a & v != 0,
                        _ => return 0,
                    };
                    pc += if taken { jt } else { jf };
                }
                Op::RetK(k) => return k,
                Op::RetA => return a,
                Op::RetX => return x,
                Op::Tax => x = a,
                Op::Txa => a = x,
                Op::Reject => return 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// `ip` on Ethernet as `tcpdump -d ip` prints it.
    fn ipv4_on_ethernet() -> Program {
        Program::new(vec![
            insn(LD | H | ABS, 0, 0, 12),
            insn(JMP | JEQ | K, 0, 1, 0x0800),
            insn(RET | K, 0, 0, 262_144),
            insn(RET | K, 0, 0, 0),
        ])
        .unwrap()
    }

    #[test]
    fn accepts_and_rejects_by_ethertype() {
        let p = ipv4_on_ethernet();
        let mut frame = [0u8; 60];
        frame[12] = 0x08;
        assert_eq!(p.run(&frame, 60), 262_144);
        frame[13] = 0x06; // ARP
        assert_eq!(p.run(&frame, 60), 0);
        // The load reaches past the captured bytes: rejected.
        assert_eq!(p.run(&frame[..13], 60), 0);
    }

    #[test]
    fn len_is_the_wire_length() {
        // `greater 100`: len >= 100.
        let p = Program::new(vec![
            insn(LD | W | LEN, 0, 0, 0),
            insn(JMP | JGE | K, 0, 1, 100),
            insn(RET | K, 0, 0, 1),
            insn(RET | K, 0, 0, 0),
        ])
        .unwrap();
        assert_eq!(p.run(&[0; 20], 1500), 1);
        assert_eq!(p.run(&[0; 20], 99), 0);
    }

    #[test]
    fn ip_header_length_and_indexed_loads() {
        // ldxb 4*([14]&0xf); ldh [x+16] (TCP destination port after IHL).
        let p = Program::new(vec![
            insn(LDX | B | MSH, 0, 0, 14),
            insn(LD | H | IND, 0, 0, 16),
            insn(RET | RET_A, 0, 0, 0),
        ])
        .unwrap();
        let mut frame = [0u8; 54];
        frame[14] = 0x45;
        frame[14 + 20 + 2] = 0x01;
        frame[14 + 20 + 3] = 0xbb;
        assert_eq!(p.run(&frame, 54), 443);
        frame[14] = 0x4f; // 60-byte header: the port lies past the capture.
        assert_eq!(p.run(&frame, 54), 0);
    }

    #[test]
    fn arithmetic_wraps_and_division_by_zero_rejects() {
        let run = |ops: Vec<Insn>| {
            let mut v = vec![insn(LD | IMM, 0, 0, 7), insn(LDX | IMM, 0, 0, 0)];
            v.extend(ops);
            v.push(insn(RET | RET_A, 0, 0, 0));
            Program::new(v).unwrap().run(&[], 0)
        };
        assert_eq!(run(vec![insn(ALU | SUB | K, 0, 0, 8)]), u32::MAX);
        assert_eq!(run(vec![insn(ALU | NEG, 0, 0, 0)]), 7u32.wrapping_neg());
        assert_eq!(run(vec![insn(ALU | DIV | X, 0, 0, 0)]), 0);
        assert_eq!(run(vec![insn(ALU | MOD | X, 0, 0, 0)]), 0);
        assert_eq!(run(vec![insn(ALU | LSH | K, 0, 0, 32)]), 0);
        assert_eq!(run(vec![insn(ALU | RSH | K, 0, 0, 1)]), 3);
        assert_eq!(
            run(vec![
                insn(ST, 0, 0, 15),
                insn(LD | MEM, 0, 0, 15),
                insn(ALU | MUL | K, 0, 0, 3)
            ]),
            21
        );
        assert_eq!(
            run(vec![
                insn(MISC | TAX, 0, 0, 0),
                insn(ALU | ADD | X, 0, 0, 0)
            ]),
            14
        );
    }

    #[test]
    fn validation_refuses_what_could_misbehave() {
        let ret = insn(RET | K, 0, 0, 1);
        let bad = |v: Vec<Insn>| Program::new(v).unwrap_err().what;
        assert_eq!(bad(vec![]), "the program is empty");
        assert_eq!(
            bad(vec![insn(LD | MEM, 0, 0, 16), ret]),
            "scratch memory index out of range"
        );
        assert_eq!(
            bad(vec![insn(ALU | DIV | K, 0, 0, 0), ret]),
            "division by a constant zero"
        );
        assert_eq!(bad(vec![insn(JMP | JA, 0, 0, 1), ret]), "jump past the end");
        assert_eq!(
            bad(vec![insn(JMP | JEQ | K, 1, 0, 0), ret]),
            "jump past the end"
        );
        assert_eq!(
            bad(vec![insn(LD | IMM, 0, 0, 0)]),
            "the program does not end with a return"
        );
        assert_eq!(
            bad(vec![insn(LD | B | MSH, 0, 0, 0), ret]),
            "unknown load mode"
        );
        assert_eq!(bad(vec![insn(0x118, 0, 0, 0), ret]), "unknown opcode");
    }

    proptest! {
        /// Whatever passes validation runs on whatever packet without
        /// panicking, and always ends.
        #[test]
        fn valid_programs_never_panic(
            raw in proptest::collection::vec((any::<u16>(), 0u8..4, 0u8..4, any::<u32>()), 1..24),
            data in proptest::collection::vec(any::<u8>(), 0..80),
            wire in any::<u32>(),
        ) {
            let mut insns: Vec<Insn> = raw
                .into_iter()
                .map(|(code, jt, jf, k)| insn(code & 0xff, jt, jf, k % 96))
                .collect();
            insns.push(insn(RET | RET_A, 0, 0, 0));
            if let Ok(p) = Program::new(insns) {
                let _ = p.run(&data, wire);
            }
        }
    }
}
