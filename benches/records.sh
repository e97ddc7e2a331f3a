#!/usr/bin/env bash
# Throughput of the flow-record readers: a generated Zeek conn.log (TSV)
# and the same connections as Zeek JSON and Suricata EVE lines, read on one
# thread, median of N rounds, in lines per second: read and audited
# (`portaudit audit` against examples/air-lab.toml, findings to /dev/null:
# the reader's speed), and read with every flow written back as CSV
# (`portaudit flows -o /dev/null`: the reader plus the CSV writer).
#
#   benches/records.sh [--lines 1000000] [--flows 200000] [--rounds 5] [--dir DIR]
#
# The logs are made once (deterministic: the same bytes on every machine)
# and kept in page cache by a first read. The issue's target: Zeek TSV at
# least a million lines a second per core.
set -euo pipefail

lines=1000000 flows=200000 rounds=5 dir=target/bench
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) lines=$2; shift 2 ;;
        --flows) flows=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "records.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin portaudit
mkdir -p "$dir"
base="$dir/records-$lines-$flows"
if [ ! -f "$base.conn.log" ]; then
    python3 - "$lines" "$flows" "$base" <<'PY'
import json, sys
lines, flows, base = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
tsv = open(base + ".conn.log", "w")
js = open(base + ".conn.json", "w")
eve = open(base + ".eve.json", "w")
tsv.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
          "#open\t2026-12-01-00-00-00\n"
          "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
          "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
          "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
          "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
          "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n")
servers = ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.1.20"]
ports = [443, 22, 514, 389, 636, 8443]
x = 12345
for i in range(lines):
    x = (x * 1103515245 + 12345) & 0x7fffffff
    f = x % flows
    client = "10.1.%d.%d" % (f // 250 % 250, f % 250 + 1)
    cport = 32768 + f % 28000
    server = servers[f % len(servers)]
    port = ports[f % len(ports)]
    tcp = f % 5 != 0
    proto = "tcp" if tcp else "udp"
    ts = 1764547200 + i * 0.001
    hist, state = ("ShADadFf", "SF") if tcp else ("Dd", "SF")
    op, rp = 6 + f % 7, 5 + f % 9
    ob, rb = op * 120, rp * 900
    tsv.write("%.6f\tC%09d\t%s\t%d\t%s\t%d\t%s\t-\t%.6f\t%d\t%d\t%s\tT\tT\t0\t%s\t%d\t%d\t%d\t%d\t-\n"
              % (ts, i, client, cport, server, port, proto, 0.25, ob, rb, state, hist, op, ob, rp, rb))
    js.write(json.dumps({"ts": round(ts, 6), "uid": "C%09d" % i, "id.orig_h": client, "id.orig_p": cport,
                         "id.resp_h": server, "id.resp_p": port, "proto": proto, "duration": 0.25,
                         "conn_state": state, "history": hist, "orig_pkts": op, "orig_ip_bytes": ob,
                         "resp_pkts": rp, "resp_ip_bytes": rb}, separators=(",", ":")) + "\n")
    t = "2025-12-01T00:00:%09.6f+0000" % ((i * 0.001) % 60)
    ev = {"timestamp": t, "flow_id": i, "event_type": "flow", "src_ip": client, "src_port": cport,
          "dest_ip": server, "dest_port": port, "proto": proto.upper(),
          "flow": {"pkts_toserver": op, "pkts_toclient": rp, "bytes_toserver": ob, "bytes_toclient": rb,
                   "start": t, "end": t, "age": 0, "state": "closed", "reason": "timeout", "alerted": False}}
    if tcp:
        ev["tcp"] = {"tcp_flags": "1b", "tcp_flags_ts": "1b", "tcp_flags_tc": "1b"}
    eve.write(json.dumps(ev, separators=(",", ":")) + "\n")
tsv.write("#close\t2026-12-01-01-00-00\n")
PY
fi
source benches/median.sh
printf '| input | lines | flows | audit s | lines/s | MB/s | flows CSV s | lines/s |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for kind in conn.log conn.json eve.json; do
    file="$base.$kind"
    cat "$file" >/dev/null
    audit=$(median target/release/portaudit audit -q --threads 1 -d examples/air-lab.toml "$file" -o /dev/null)
    flows=$(median target/release/portaudit flows -q --threads 1 "$file" -o /dev/null)
    n=$(target/release/portaudit flows -q --threads 1 "$file" | tail -n +2 | wc -l)
    size=$(stat -c %s "$file")
    python3 -c "import sys; l,a,f,s,n=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),int(sys.argv[4]),sys.argv[6]; print(f'| {sys.argv[5]} | {l} | {n} | {a:.2f} | {l/a:,.0f} | {s/a/1e6:.0f} | {f:.2f} | {l/f:,.0f} |')" \
        "$lines" "$audit" "$flows" "$size" "$kind" "$n"
done
