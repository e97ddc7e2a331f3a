#!/usr/bin/env bash
# Flow files: how fast `portaudit flows` writes a flow table as CSV, NDJSON
# and Parquet, and how fast `portaudit flows` reads NDJSON and Parquet flow
# files back (into CSV, to /dev/null), median of N rounds on T threads.
#
#   benches/flowfiles.sh [--flows 500000] [--rounds 5] [--threads 2] [--dir DIR]
#
# The table comes from a generated Zeek conn.log of that many distinct
# connections (benches/records.sh makes it, deterministic), read in page
# cache. The issue's target: Parquet written and read at least as fast as
# the CSV flows are written.
set -euo pipefail

flows=500000 rounds=5 threads=2 dir=target/bench
while [ $# -gt 0 ]; do
    case "$1" in
        --flows) flows=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "flowfiles.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
log="$dir/records-$flows-$flows.conn.log"
if [ ! -f "$log" ]; then
    benches/records.sh --lines "$flows" --flows "$flows" --rounds 1 --dir "$dir" >/dev/null
fi
bin=target/release/portaudit
source benches/median.sh
out="$dir/flowfiles"
mkdir -p "$out"
cat "$log" >/dev/null
read_log=$(median "$bin" flows -q --threads "$threads" "$log" -o /dev/null)
printf '| step | median s | flows/s | file MB |\n|---|---:|---:|---:|\n'
row() {
    python3 -c "import sys; s=float(sys.argv[2]); n=int(sys.argv[3]); print(f'| {sys.argv[1]} | {s:.2f} | {n/s:,.0f} | {sys.argv[4]} |')" "$@"
}
row "read the conn.log, CSV to /dev/null" "$read_log" "$flows" "-"
for fmt in csv ndjson parquet; do
    t=$(median "$bin" flows -q --threads "$threads" "$log" --format "$fmt" -o "$out/flows.$fmt")
    mb=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1])/1e6:.0f}')" "$out/flows.$fmt")
    row "read the conn.log, $fmt to a file" "$t" "$flows" "$mb"
done
for fmt in ndjson parquet; do
    cat "$out/flows.$fmt" >/dev/null
    t=$(median "$bin" flows -q --threads "$threads" "$out/flows.$fmt" -o /dev/null)
    row "read the $fmt flow file, CSV to /dev/null" "$t" "$flows" "-"
done
