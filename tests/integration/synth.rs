//! The generated captures of `portaudit-synth` read back through
//! portaudit: every frame decodes as the generator meant it, and the flow
//! and kind counts it reports are what the flow table finds.

use portaudit::capture::LinkType;
use portaudit::decode::{decode, Decap, SkipReason, Transport, TunnelMode};
use portaudit::flow::{resolve, FlowState};
use portaudit::ingest::{ingest_bytes, Skip};
use portaudit_synth::{write_enterprise, write_flood, EnterpriseSpec, FloodCounts};

#[test]
fn flood_frames_decode_as_intended() {
    let counts = FloodCounts::of(300);
    let bytes = write_flood(Vec::new(), counts, 7).unwrap();
    let (table, stats) = ingest_bytes("flood", &bytes);
    assert_eq!(stats.packets_read, counts.packets());
    // Only the orphan later fragments go unused.
    assert_eq!(
        stats.skipped[&Skip::Packet(SkipReason::FragmentWithoutFirst)],
        counts.fragment_pairs
    );
    assert_eq!(
        stats.packets_decoded,
        counts.packets() - counts.fragment_pairs
    );
    assert_eq!(
        table.finish().len() as u64,
        counts.packets() - counts.fragment_pairs
    );
    // The handcrafted layout is what etherparse reads too.
    let frame = &bytes[24 + 16 + 100 * 76..][..60];
    let p = decode(
        LinkType::ETHERNET,
        frame,
        60,
        TunnelMode::Inner,
        &mut Decap::default(),
    )
    .unwrap();
    assert!(matches!(p.transport, Transport::Ports { dst: 443, .. }));
    let e = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
    assert!(
        matches!(e.transport, Some(etherparse::TransportSlice::Tcp(t)) if t.syn() && t.destination_port() == 443)
    );
}

/// (timestamp in µs, frame) of every record of a classic pcap.
fn records(bytes: &[u8]) -> Vec<(u64, &[u8])> {
    let mut out = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let h = &bytes[at..at + 16];
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let len = word(8) as usize;
        assert_eq!(word(12) as usize, len, "nothing is cut");
        let time = u64::from(word(0)) * 1_000_000 + u64::from(word(4));
        out.push((time, &bytes[at + 16..at + 16 + len]));
        at += 16 + len;
    }
    assert_eq!(at, bytes.len());
    out
}

const SPEC: EnterpriseSpec = EnterpriseSpec {
    bytes: 3_000_000,
    flows: 800,
    seed: 7,
    dns_names: 0,
};

#[test]
fn every_frame_decodes_into_exactly_the_flows_asked_for() {
    let (bytes, st) = write_enterprise(Vec::new(), &SPEC).unwrap();
    assert_eq!(bytes.len() as u64, st.bytes);
    let target = SPEC.bytes as f64;
    assert!(
        (st.bytes as f64 - target).abs() <= 0.05 * target,
        "{} bytes for {target}",
        st.bytes
    );
    let (table, fs) = ingest_bytes("ent", &bytes);
    assert!(fs.skipped.is_empty(), "skipped: {:?}", fs.skipped);
    assert_eq!(fs.packets_read, st.packets);
    assert_eq!(fs.packets_decoded, st.packets);
    assert_eq!(fs.bytes_read, st.wire_bytes);
    assert_eq!(fs.times.out_of_order, 0);
    let flows = table.finish();
    assert_eq!(flows.len() as u64, SPEC.flows);
    assert_eq!(st.flows, SPEC.flows);
    let mean = st.mean_frame();
    assert!((450.0..=650.0).contains(&mean), "mean frame {mean}");
    assert!(st.ipv6_frames > 0 && st.vlan_frames > 0, "{st:?}");
    assert!(st.fragmented_datagrams > 0, "{st:?}");

    let recs = records(&bytes);
    assert!(recs.windows(2).all(|w| w[0].0 < w[1].0), "time moves on");
    assert!(recs
        .iter()
        .all(|r| (60..=EnterpriseSpec::MAX_FRAME).contains(&r.1.len())));

    let mut refused = 0;
    let mut mid_stream = 0;
    let (mut tcp, mut udp, mut icmp, mut v6) = (0, 0, 0, 0);
    for (key, s) in flows.iter() {
        let f = resolve(&key, s, &|_, p| p < 32768);
        refused += u64::from(f.state == FlowState::Refused);
        mid_stream += u64::from(f.state == FlowState::MidStream);
        tcp += u64::from(f.proto == 6);
        udp += u64::from(f.proto == 17);
        icmp += u64::from(f.proto == 1 || f.proto == 58);
        v6 += u64::from(key.a.addr.is_ipv6());
    }
    assert_eq!((refused, mid_stream), (st.tcp_refused, st.tcp_mid_stream));
    assert_eq!(
        (tcp, udp, icmp, v6),
        (st.tcp_flows, st.udp_flows, st.icmp_flows, st.ipv6_flows)
    );
    assert!(refused > 0 && mid_stream > 0 && icmp > 0 && v6 > 0);
}

#[test]
fn few_large_flows_and_many_small_ones_still_meet_the_target() {
    for (bytes, flows) in [(2_000_000, 3), (2_000_000, 1000), (0, 0)] {
        let spec = EnterpriseSpec {
            bytes,
            flows,
            seed: 1,
            dns_names: 0,
        };
        let (out, st) = write_enterprise(Vec::new(), &spec).unwrap();
        let (table, fs) = ingest_bytes("ent", &out);
        assert_eq!(table.finish().len() as u64, flows);
        assert!(fs.skipped.is_empty());
        if flows == 0 {
            assert_eq!(st.bytes, 24);
        } else {
            let off = (st.bytes as f64 - bytes as f64).abs() / bytes as f64;
            assert!(off <= 0.05, "{bytes} bytes, {flows} flows: {}", st.bytes);
        }
    }
}

/// The names the DNS replies of a generated capture give addresses for.
fn answered_names(bytes: &[u8]) -> (usize, std::collections::BTreeSet<String>) {
    let (mut replies, mut names) = (0, std::collections::BTreeSet::new());
    for (_, frame) in records(bytes) {
        let Ok(e) = etherparse::SlicedPacket::from_ethernet(frame) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Udp(u)) = e.transport else {
            continue;
        };
        if u.source_port() == 53 {
            let (name, addrs) = portaudit::decode::dns_answers(u.payload()).expect("a reply");
            assert!(!addrs.is_empty());
            replies += 1;
            names.insert(name.to_string());
        }
    }
    (replies, names)
}

/// `dns_names` draws the queries' names from that many; without it every
/// reply names a host no reply named before (benches/compare.sh's two
/// regimes for the store of DNS answers).
#[test]
fn dns_names_bounds_the_names_the_replies_give() {
    let (bytes, _) = write_enterprise(Vec::new(), &SPEC).unwrap();
    let (replies, names) = answered_names(&bytes);
    assert!(replies > 50, "{replies} replies");
    assert!(names.len() * 10 >= replies * 9, "{} names", names.len());
    let few = EnterpriseSpec {
        dns_names: 7,
        ..SPEC
    };
    let (bytes, _) = write_enterprise(Vec::new(), &few).unwrap();
    let (replies, names) = answered_names(&bytes);
    assert!(replies > 50, "{replies} replies");
    assert!((2..=7).contains(&names.len()), "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".corp.example.com")));
}
