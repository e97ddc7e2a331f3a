//! Pipeline benchmarks: decode and flow-table insert on a synthetic capture.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portaudit::capture::{LinkType, Step, Walker};
use portaudit::decode::decode;
use portaudit::flow::FlowTable;
use portaudit::synth::{sock, Scenario};

fn capture() -> Vec<u8> {
    let mut s = Scenario::new(1_767_225_600);
    for i in 0..200u16 {
        let client = sock(&format!("10.1.{}.{}:{}", i / 250, i % 250 + 1, 40000 + i));
        s.tcp_session(client, sock("10.1.0.10:443"), 5);
        s.udp(
            sock(&format!("10.1.20.{}:5353", i % 250 + 1)),
            sock("10.1.0.2:53"),
            2,
            true,
        );
    }
    let mut v = Vec::new();
    s.write_pcap(&mut v).unwrap();
    v
}

fn frames(buf: &[u8]) -> Vec<(usize, usize, u32)> {
    let (mut w, mut pos) = Walker::open(buf, true).unwrap().unwrap();
    let mut out = Vec::new();
    while let Step::Packet { record, next } = w.step(buf, pos, 0) {
        let start = record.data.as_ptr() as usize - buf.as_ptr() as usize;
        out.push((start, record.data.len(), record.orig_len));
        pos = next;
    }
    out
}

fn bench(c: &mut Criterion) {
    let buf = capture();
    let recs = frames(&buf);
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("walk", |b| b.iter(|| frames(&buf).len()));
    g.bench_function("decode+flow-insert", |b| {
        b.iter(|| {
            let mut t = FlowTable::new();
            for &(s, l, o) in &recs {
                if let Ok(p) = decode(LinkType::ETHERNET, &buf[s..s + l], o) {
                    t.add(&p, None);
                }
            }
            t.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
