//! DNS messages in the payload of DNS flows: a query for a name under
//! corp.example.com, and its answer with A records.

use crate::Rng;

/// DNS header, question (a name under corp.example.com, type A, class IN).
const DNS_FIXED: usize = 12 + 1 + 5 + 8 + 4 + 1 + 4;
/// One answer record: name pointer, type, class, TTL, length, IPv4 address.
pub(super) const DNS_ANSWER: u32 = 16;

pub(super) fn dns_query_len(name: u64) -> usize {
    DNS_FIXED + dns_label_len(name)
}

fn dns_label_len(name: u64) -> usize {
    3 + (name % 18) as usize
}

/// Writes a DNS query for the name `name` stands for, or its answer with
/// as many A records as fit in `data`.
pub(super) fn write_dns(data: &mut [u8], id: u16, name: u64, answer: bool) {
    let label = dns_label_len(name);
    let question = DNS_FIXED - 12 + label;
    if data.len() < 12 + question {
        return;
    }
    let records = if answer {
        (data.len() - 12 - question) / DNS_ANSWER as usize
    } else {
        0
    };
    let flags: u16 = if answer { 0x8180 } else { 0x0100 };
    data[0..2].copy_from_slice(&id.to_be_bytes());
    data[2..4].copy_from_slice(&flags.to_be_bytes());
    data[4..6].copy_from_slice(&1u16.to_be_bytes());
    data[6..8].copy_from_slice(&(records as u16).to_be_bytes());
    data[8..12].fill(0);
    let q = &mut data[12..12 + question];
    q[0] = label as u8;
    let mut letters = Rng::new(name);
    for b in &mut q[1..=label] {
        *b = b'a' + letters.below(26) as u8;
    }
    q[1 + label..].copy_from_slice(b"\x04corp\x07example\x03com\x00\x00\x01\x00\x01");
    let mut at = 12 + question;
    for _ in 0..records {
        let rr = &mut data[at..at + DNS_ANSWER as usize];
        rr[..12].copy_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4]);
        rr[12..16].copy_from_slice(&[
            10,
            10,
            1 + letters.below(2) as u8,
            10 + letters.below(20) as u8,
        ]);
        at += DNS_ANSWER as usize;
    }
}
