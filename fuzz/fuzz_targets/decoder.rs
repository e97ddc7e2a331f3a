//! Fuzz target: one frame of a chosen link type through the decoder.
//!
//! The first two bytes (little-endian u16) pick the link type: modulo 11,
//! one of the ten link types `tests/integration/fuzz.rs` names, or (the
//! eleventh choice) the u16 itself, so unknown link types are tried too. The
//! rest is the frame, with a wire length equal to its length (the decoder
//! only carries the wire length through).
//!
//! Every frame is decoded in the three tunnel modes. `decode` must not
//! panic. `fuzz.rs` checks nothing on success; here a
//! decoded packet must carry the wire length it was given, as the decoder's
//! unit tests assert.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portaudit::capture::LinkType;
use portaudit::decode::{decode, Decap, TunnelMode};

/// Link types of `decoder_survives_arbitrary_frames` in `fuzz.rs`.
const LINKS: [u32; 10] = [1, 0, 108, 113, 276, 12, 14, 101, 228, 229];

fuzz_target!(|data: &[u8]| {
    let [a, b, frame @ ..] = data else {
        return;
    };
    let pick = u16::from_le_bytes([*a, *b]);
    let link = LINKS
        .get(usize::from(pick) % (LINKS.len() + 1))
        .copied()
        .unwrap_or(u32::from(pick));
    let wire = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    for mode in [TunnelMode::Inner, TunnelMode::Outer, TunnelMode::Both] {
        if let Ok(p) = decode(LinkType(link), frame, wire, mode, &mut Decap::default()) {
            assert_eq!(
                p.wire_len, wire,
                "link {link}: wire length not carried through"
            );
        }
    }
});
