//! The pipeline's stages on a generated enterprise capture (64 MB, 50 000
//! flows, the mix `portaudit-fixtures enterprise` makes): walking records,
//! decoding, flow-table insertion (grouped as the reader does it, and one
//! packet at a time), merging two tables, classifying the flows, running a
//! `--filter` program, and a whole file read. `cargo bench --bench pipeline`; the end-to-end comparison with
//! peer tools is `benches/compare.sh`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use portaudit::audit::Auditor;
use portaudit::capture::{CaptureInput, LinkType, Step, Timestamp, Walker};
use portaudit::decode::{decode, Decap, PacketSummary, TunnelMode};
use portaudit::filter::bpf::{Insn, Program};
use portaudit::flow::{FlowTable, Limits, Overflow, PacketTable, SegmentTable};
use portaudit::ingest::{ingest_one, IngestOptions};
use portaudit::rules::{Catalog, Deployment};
use portaudit_synth::{write_enterprise, EnterpriseSpec};

fn capture() -> Vec<u8> {
    let spec = EnterpriseSpec {
        bytes: 64 << 20,
        flows: 50_000,
        seed: 1,
        dns_names: 0,
    };
    write_enterprise(Vec::new(), &spec).unwrap().0
}

/// Every record: data start, captured length, original length, time.
fn records(buf: &[u8]) -> Vec<(usize, usize, u32, Option<Timestamp>)> {
    let (mut w, mut pos) = Walker::open(buf, true).unwrap().unwrap();
    let mut out = Vec::new();
    while let Step::Packet { record, next } = w.step(buf, pos, 0) {
        let start = record.data.as_ptr() as usize - buf.as_ptr() as usize;
        out.push((start, record.data.len(), record.orig_len, record.ts));
        pos = next;
    }
    out
}

/// `tcp port 443` for Ethernet, as `tcpdump -dd 'tcp port 443'` prints it
/// (libpcap 1.10), so that this bench needs no libpcap.
fn tcp_port_443() -> Program {
    let raw: [(u16, u8, u8, u32); 20] = [
        (0x28, 0, 0, 0x0c),
        (0x15, 0, 6, 0x86dd),
        (0x30, 0, 0, 0x14),
        (0x15, 0, 15, 0x06),
        (0x28, 0, 0, 0x36),
        (0x15, 12, 0, 0x01bb),
        (0x28, 0, 0, 0x38),
        (0x15, 10, 11, 0x01bb),
        (0x15, 0, 10, 0x0800),
        (0x30, 0, 0, 0x17),
        (0x15, 0, 8, 0x06),
        (0x28, 0, 0, 0x14),
        (0x45, 6, 0, 0x1fff),
        (0xb1, 0, 0, 0x0e),
        (0x48, 0, 0, 0x0e),
        (0x15, 2, 0, 0x01bb),
        (0x48, 0, 0, 0x10),
        (0x15, 0, 1, 0x01bb),
        (0x06, 0, 0, 0x0004_0000),
        (0x06, 0, 0, 0),
    ];
    Program::new(
        raw.iter()
            .map(|&(code, jt, jf, k)| Insn { code, jt, jf, k })
            .collect(),
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let buf = capture();
    let recs = records(&buf);
    let mut decap = Decap::default();
    let decoded: Vec<(PacketSummary, Option<Timestamp>)> = recs
        .iter()
        .filter_map(|&(s, l, o, ts)| {
            decode(
                LinkType::ETHERNET,
                &buf[s..s + l],
                o,
                TunnelMode::Inner,
                &mut decap,
            )
            .ok()
            .map(|p| (p, ts))
        })
        .collect();
    // A segment's table, as a file read in parallel makes.
    let unbounded = Limits {
        max_flows: usize::MAX,
        max_fragments: usize::MAX,
    };
    let table_of = |packets: &[(PacketSummary, Option<Timestamp>)]| {
        let mut t = SegmentTable::new(unbounded);
        t.add_all(packets, &Default::default());
        FlowTable::from(t)
    };

    let mut g = c.benchmark_group("pipeline");
    g.sample_size(20);
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function("walk", |b| {
        b.iter(|| {
            let (mut w, mut pos) = Walker::open(&buf, true).unwrap().unwrap();
            let mut n = 0usize;
            while let Step::Packet { next, .. } = w.step(&buf, pos, 0) {
                n += 1;
                pos = next;
            }
            n
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut decap = Decap::default();
            recs.iter()
                .filter(|&&(s, l, o, _)| {
                    decode(
                        LinkType::ETHERNET,
                        &buf[s..s + l],
                        o,
                        TunnelMode::Inner,
                        &mut decap,
                    )
                    .is_ok()
                })
                .count()
        })
    });
    let filter = tcp_port_443();
    g.bench_function("bpf-filter", |b| {
        b.iter(|| {
            recs.iter()
                .filter(|&&(s, l, o, _)| filter.run(&buf[s..s + l], o) > 0)
                .count()
        })
    });
    g.bench_function("flow-insert", |b| b.iter(|| table_of(&decoded)));
    g.bench_function("flow-insert-one-by-one", |b| {
        b.iter(|| {
            let mut t = SegmentTable::new(unbounded);
            for (p, ts) in &decoded {
                t.add(p, *ts);
            }
            t
        })
    });
    let half = decoded.len() / 2;
    g.bench_function("flow-merge", |b| {
        b.iter_batched(
            || (table_of(&decoded[..half]), table_of(&decoded[half..])),
            |(mut left, right)| {
                left.absorb(right, &Limits::default());
                left.finish().len()
            },
            BatchSize::LargeInput,
        )
    });
    let flows = table_of(&decoded).finish();
    let catalog = Catalog::shipped().unwrap();
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/enterprise-site.toml");
    let deployment = Deployment::load(&site, &catalog).unwrap();
    let auditor = Auditor::new(&deployment);
    g.throughput(Throughput::Elements(flows.len() as u64));
    g.bench_function("classify", |b| {
        b.iter(|| {
            auditor
                .audit(
                    &flows,
                    &Overflow::default(),
                    None,
                    &Limits::default(),
                    false,
                )
                .findings
                .len()
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enterprise.pcap");
    std::fs::write(&file, &buf).unwrap();
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("ingest-file", |b| {
        b.iter(|| {
            let input = CaptureInput::File(file.clone());
            ingest_one(&input, &IngestOptions::default()).0
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
