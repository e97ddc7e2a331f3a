#!/usr/bin/env bash
# Times portaudit against its peers on one generated enterprise capture, in
# one run, alternating, and prints a table of medians.
#
#   benches/compare.sh [--rounds N] [--size 2G] [--flows 200000]
#                      [--dns-names N] [--dir DIR] [--skip TOOL,...]
#                      [--install] [--before BIN]
#
# The capture is made once by `portaudit-fixtures enterprise SIZE FLOWS`
# (the generator of the workspace crate synth/)
# (deterministic: the same bytes on every machine) and kept in page cache
# (locked with vmtouch when it is installed). Each round runs every tool
# once, starting from a different tool each round, so that a slow stretch
# of a noisy machine does not fall on one tool. Per tool: median wall time,
# median CPU time (user + system), peak resident memory (the largest of the
# rounds), MB/s and Mpackets/s over the capture, the ratio of its wall time
# to cat's (the page-cache limit), and for portaudit its speed-up over every
# peer. Tools that are not installed are left out; --install installs them
# (Debian: tcpdump tshark argus-server nfdump vmtouch).
#
# portaudit audits the capture against benches/enterprise-site.toml: the
# audit classifies the flows of three servers and a client /24 and writes
# its findings, end to end, as a user would run it. --before BIN adds an
# earlier portaudit build (portaudit-before, portaudit-before-1t) to the
# same rounds, so that a change is measured against what it changed, side
# by side on the same machine.
#
# By default every DNS query of the capture asks a name never asked before
# (the worst case for portaudit's store of DNS answers: every answer is
# new, and the store fills to its limit); --dns-names N draws them from N
# names, as a site's resolvers see the same names again and again.
set -euo pipefail

rounds=5 size=2G flows=200000 dir=target/bench skip="" install=0 before="" dns_names=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --flows) flows=$2; shift 2 ;;
        --dns-names) dns_names=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --skip) skip=$2; shift 2 ;;
        --install) install=1; shift ;;
        --before) before=$2; shift 2 ;;
        -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
if [ "$install" = 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q tcpdump tshark argus-server nfdump vmtouch time >/dev/null
fi
[ -x /usr/bin/time ] || { echo "compare.sh: needs GNU time (/usr/bin/time; Debian package time)" >&2; exit 2; }
cargo build --release --quiet --workspace --bins
bin=target/release/portaudit
mkdir -p "$dir"
cap="$dir/enterprise-$size-$flows.pcap"
[ "$dns_names" = 0 ] || cap="$dir/enterprise-$size-$flows-dns$dns_names.pcap"
if [ ! -f "$cap" ]; then
    target/release/portaudit-fixtures enterprise "$size" "$flows" "$cap" --dns-names "$dns_names"
fi
work=$(mktemp -d)
lock_pid=""
cleanup() {
    [ -n "$lock_pid" ] && kill "$lock_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
if command -v vmtouch >/dev/null; then
    vmtouch -q -l -m 64G "$cap" &
    lock_pid=$!
    # Locked once every page is resident.
    while [ "$(vmtouch "$cap" | awk '/Resident Pages/ {print $NF}')" != "100%" ]; do sleep 0.2; done
else
    cat "$cap" >/dev/null
fi

# Packets and bytes in the capture, from portaudit's own count.
"$bin" flows -q --stats "$work/stats.json" -o /dev/null "$cap"
packets=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["packets_read"])' "$work/stats.json")
bytes=$(stat -c %s "$cap")
threads=$(nproc)

# name|command (stdout and stderr are discarded; a status of 0 or 1 is a
# run: portaudit exits 1 on findings).
tools=(
    "cat|cat $cap"
    "portaudit-1t|$bin audit -q --threads 1 -d benches/enterprise-site.toml $cap -o /dev/null"
    "portaudit|$bin audit -q --threads $threads -d benches/enterprise-site.toml $cap -o /dev/null"
)
if [ -n "$before" ]; then
    tools+=(
        "portaudit-before-1t|$before audit -q --threads 1 -d benches/enterprise-site.toml $cap -o /dev/null"
        "portaudit-before|$before audit -q --threads $threads -d benches/enterprise-site.toml $cap -o /dev/null"
    )
fi
have() { command -v "$1" >/dev/null && [[ ",$skip," != *",$2,"* ]]; }
have tcpdump tcpdump && tools+=("tcpdump|tcpdump -r $cap -w /dev/null")
have argus argus && tools+=("argus|argus -r $cap -w $work/out.argus")
have nfpcapd nfpcapd && tools+=("nfpcapd|nfpcapd -r $cap -w $work/nf")
have tshark tshark && tools+=("tshark|tshark -n -q -r $cap -z conv,tcp -z conv,udp")

results="$work/runs.tsv"
n=${#tools[@]}
for ((r = 0; r < rounds; r++)); do
    for ((i = 0; i < n; i++)); do
        entry=${tools[$(((i + r) % n))]}
        name=${entry%%|*}
        cmd=${entry#*|}
        rm -rf "$work/out.argus" "$work/nf" && mkdir -p "$work/nf"
        status=0
        # Wall time to the nanosecond (GNU time's %e has 10 ms steps, a
        # few percent of a run here); CPU and peak memory from GNU time.
        start=$(date +%s%N)
        /usr/bin/time -f "%U %S %M" -o "$work/time" $cmd >/dev/null 2>&1 || status=$?
        wall=$(( $(date +%s%N) - start ))
        if [ "$status" -gt 1 ]; then
            echo "compare.sh: $name failed (status $status): $cmd" >&2
            exit 1
        fi
        # GNU time prefixes a note when the command exits non-zero.
        echo "$name $(awk -v ns="$wall" 'BEGIN { printf "%.4f", ns / 1e9 }') $(tail -n 1 "$work/time")" >>"$results"
    done
    echo "round $((r + 1))/$rounds done" >&2
done

python3 - "$results" "$bytes" "$packets" "$threads" "$rounds" "$cap" <<'EOF'
import statistics, sys
from collections import defaultdict

path, size, packets, threads, rounds, cap = sys.argv[1:]
size, packets = int(size), int(packets)
runs = defaultdict(list)
for line in open(path):
    name, wall, user, system, rss = line.split()
    runs[name].append((float(wall), float(user) + float(system), int(rss)))
med = {n: statistics.median(w for w, _, _ in r) for n, r in runs.items()}
cpu = {n: statistics.median(c for _, c, _ in r) for n, r in runs.items()}
peak = {n: max(m for _, _, m in r) / 1024 for n, r in runs.items()}
order = ["cat", "portaudit", "portaudit-1t", "portaudit-before", "portaudit-before-1t",
         "tcpdump", "argus", "nfpcapd", "tshark"]
names = [n for n in order if n in runs]
print(f"capture: {cap}: {size / 1e9:.2f} GB, {packets / 1e6:.2f} M packets; "
      f"{rounds} rounds; {threads} threads; medians")
print()
print("| tool | wall s | CPU s | peak MB | MB/s | Mpackets/s | × cat | portaudit is faster by |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
pa = med.get("portaudit")
for n in names:
    w = med[n]
    vs = f"{w / pa:.2f}×" if pa and n not in ("portaudit", "cat") else ""
    print(f"| {n} | {w:.3f} | {cpu[n]:.2f} | {peak[n]:.0f} | {size / 1e6 / w:.0f} | "
          f"{packets / 1e6 / w:.2f} | {w / med['cat']:.2f} | {vs} |")
if pa and "portaudit-1t" in med:
    print()
    print(f"portaudit on {threads} threads vs 1 thread: {med['portaudit-1t'] / pa:.2f}× faster")
for now, then in (("portaudit", "portaudit-before"), ("portaudit-1t", "portaudit-before-1t")):
    if now in med and then in med:
        print(f"{now} against {then}: {med[now] / med[then]:.3f}× its wall time, "
              f"{cpu[now] / cpu[then]:.3f}× its CPU time, peak {peak[now]:.0f} vs {peak[then]:.0f} MB")
EOF
