//! Fuzz target: arbitrary bytes as a flow-record input (Zeek conn.log TSV
//! or JSON, Suricata EVE, IPFIX, NetFlow v5/v9, portaudit's NDJSON and
//! Parquet flow files), through the same entry point as any input.
//!
//! The first byte picks a head that makes the input one of the formats
//! (a Zeek header, a Zeek JSON line, an EVE line, an IPFIX template
//! message) or none; the rest follows it (the seeds of
//! tests/data/records, IPFIX and NetFlow exports among them, come with no
//! head). Mirrors `record_readers_survive_mutations` in
//! `tests/integration/fuzz.rs`: no panic; every line read is used or
//! skipped with a reason; stdin-style and file-style reads agree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portaudit::ingest::{ingest_bytes, ingest_reader_with, IngestOptions};

const HEADS: [&[u8]; 5] = [
    b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
      #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\tconn_state\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n\
      #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tstring\tstring\tcount\tcount\tcount\tcount\n",
    b"{\"ts\":1.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":1,\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":2,\"proto\":\"tcp\",\"conn_state\":\"S0\",\"history\":\"S\"}\n",
    b"{\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"src_port\":1,\"dest_ip\":\"10.0.0.2\",\"dest_port\":2,\"proto\":\"TCP\",\"flow\":{\"pkts_toserver\":1}}\n",
    b"",
    // IPFIX: a 32-byte message whose template 256 reads source and
    // destination IPv4 addresses, then whatever follows as its messages.
    b"\x00\x0a\x00\x20\x65\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01      \x00\x02\x00\x10\x01\x00\x00\x02\x00\x08\x00\x04\x00\x0c\x00\x04",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut input = HEADS[usize::from(pick) % HEADS.len()].to_vec();
    input.extend_from_slice(rest);
    let (t1, a) = ingest_bytes("fuzz", &input);
    assert_eq!(
        a.packets_decoded + a.skipped.values().sum::<u64>(),
        a.packets_read,
        "every record used or skipped: {a:?}"
    );
    let opts = IngestOptions {
        chunk_bytes: 1 + usize::from(pick),
        ..IngestOptions::default()
    };
    let (t2, b) = ingest_reader_with("fuzz", Box::new(std::io::Cursor::new(input)), &opts);
    assert_eq!(a.skipped, b.skipped);
    assert_eq!(a.damage, b.damage);
    assert_eq!(t1.finish(), t2.finish());
});
