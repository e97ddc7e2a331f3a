//! Fuzz target: arbitrary classic BPF programs on arbitrary packets.
//!
//! The first byte says how many 8-byte instructions follow (code, jt, jf,
//! k, as `struct bpf_insn` lays them out, little-endian); the rest is the
//! packet, its wire length the captured length plus the second byte. A
//! program that passes validation must run without panicking and end, as
//! `valid_programs_never_panic` in `src/filter/bpf.rs` checks with
//! proptest.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portaudit::filter::bpf::{Insn, Program};

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(count).min(rest.len() / 8);
    let (code, packet) = rest.split_at(n * 8);
    let insns = code
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    if let Ok(program) = Program::new(insns) {
        let extra = u32::from(packet.first().copied().unwrap_or(0));
        let _ = program.run(packet, packet.len() as u32 + extra);
    }
});
