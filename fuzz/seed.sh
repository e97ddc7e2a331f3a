#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs from the shared capture corpus
# (../shared/captures beside the repository) and the shipped TOML files.
# Safe to run again: files are copied under their own names, so a re-run
# refreshes the seeds and leaves what the fuzzer added alone.
#
#   capture_reader  whole capture files up to MAX_CAPTURE bytes (default
#                   64 KiB); bigger ones only slow every execution down.
#   decoder         capture files up to 2 KiB, whole: the first two bytes
#                   pick a link type, the rest is taken as one frame. A few
#                   hand-made frames (raw IPv4/IPv6 TCP, Ethernet) too.
#   rules_parser    rules/*.toml and examples/*.toml.
#   flow_records    tests/data/records/* behind a head-selector byte of 3
#                   (no head added: the file is the input).
#   collector       tests/data/records/*.ipfix cut into their messages,
#                   each as a datagram from exporter 0 (a byte for the
#                   exporter, two for the length, then the message).
#   app, rpc        TCP and UDP payloads of the corpus's packets that
#                   tshark decodes as one of the protocols the target
#                   reads (DNS replies, TLS ClientHellos, HTTP, SSH, LDAP,
#                   Kerberos, SMB, NTP, syslog; DCE/RPC and ONC-RPC), up
#                   to 40 per capture and protocol filter; only where
#                   tshark is installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
captures="$root/../shared/captures"
max_capture="${MAX_CAPTURE:-65536}"

if [ ! -d "$captures" ]; then
    echo "seed.sh: $captures not found (the shared capture corpus sits beside the repository)" >&2
    exit 1
fi

mkdir -p "$here/corpus/capture_reader" "$here/corpus/decoder" "$here/corpus/rules_parser" \
    "$here/corpus/flow_records" "$here/corpus/collector" "$here/corpus/app" "$here/corpus/rpc"

n_capture=0
n_decoder=0
for f in "$captures"/*.pcap*; do
    [ -f "$f" ] || continue
    size=$(stat -c %s "$f")
    if [ "$size" -le "$max_capture" ]; then
        cp "$f" "$here/corpus/capture_reader/"
        n_capture=$((n_capture + 1))
    fi
    if [ "$size" -le 2048 ]; then
        cp "$f" "$here/corpus/decoder/"
        n_decoder=$((n_decoder + 1))
    fi
done

# Frames behind a two-byte link selector (u16 LE modulo 11 indexes
# [1, 0, 108, 113, 276, 12, 14, 101, 228, 229]; 10 means "the u16 itself").
tcp='3039 01bb 00000001 00000000 5002 ffff 0000 0000'
ipv4="4500 0028 0001 0000 4006 0000 0a000001 0a000002 $tcp"
ipv6="6000 0000 0014 0640 $(printf 'fd%.0s' {1..16}) $(printf 'fe%.0s' {1..16}) $tcp"
eth="020000000002 020000000001 0800 $ipv4"
frame() {
    local hex
    hex="$(echo "$2" | tr -d ' ')"
    # shellcheck disable=SC2059 # the format is the bytes, as \xNN escapes
    printf "$(echo "$hex" | sed 's/../\\x&/g')" > "$here/corpus/decoder/$1"
}
frame raw-ipv4-tcp "0700 $ipv4"   # index 7: link type 101 (raw IP)
frame raw-ipv6-tcp "0700 $ipv6"
frame eth-ipv4-tcp "0000 $eth"    # index 0: link type 1 (Ethernet)
n_decoder=$((n_decoder + 3))

n_rules=0
for f in "$root"/rules/*.toml "$root"/examples/*.toml; do
    cp "$f" "$here/corpus/rules_parser/$(basename "$(dirname "$f")")-$(basename "$f")"
    n_rules=$((n_rules + 1))
done

n_records=0
for f in "$root"/tests/data/records/*.log "$root"/tests/data/records/*.json \
    "$root"/tests/data/records/*.ipfix "$root"/tests/data/records/*.netflow \
    "$root"/tests/data/records/*.ndjson "$root"/tests/data/records/*.parquet; do
    { printf '\x03'; cat "$f"; } > "$here/corpus/flow_records/$(basename "$f")"
    n_records=$((n_records + 1))
done

n_collector=0
for f in "$root"/tests/data/records/*.ipfix; do
    # An IPFIX message's length is in its bytes 2 and 3.
    python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
out = bytearray()
while len(data) >= 4:
    n = max(4, int.from_bytes(data[2:4], "big"))
    out += b"\x00" + n.to_bytes(2, "big") + data[:n]
    data = data[n:]
sys.stdout.buffer.write(out)
' "$f" > "$here/corpus/collector/$(basename "$f")"
    n_collector=$((n_collector + 1))
done

# The payloads tshark finds with display filter $2 in every capture, at
# most 40 a capture, written under corpus/$1 (named after the capture and
# the payload's hash, so that a re-run writes the same files); prints how
# many.
payloads() {
    local target=$1 filter=$2 f n=0 k
    for f in "$captures"/*.pcap*; do
        [ -f "$f" ] || continue
        k=$(tshark -r "$f" -Y "$filter" -T fields -e tcp.payload -e udp.payload 2>/dev/null \
            | python3 -c '
import hashlib, sys
out, name, seen = sys.argv[1], sys.argv[2], set()
for line in sys.stdin:
    for field in line.strip().replace("\t", ",").split(","):
        try:
            data = bytes.fromhex(field.replace(":", ""))
        except ValueError:
            continue
        if not data or data in seen or len(seen) >= 40:
            continue
        seen.add(data)
        with open(f"{out}/{name}-{hashlib.sha1(data).hexdigest()[:12]}", "wb") as w:
            w.write(data)
print(len(seen))
' "$here/corpus/$target" "$(basename "$f")")
        n=$((n + k))
    done
    echo "$n"
}
n_app=0 n_rpc=0
if command -v tshark >/dev/null 2>&1; then
    n_app=$(payloads app 'dns.flags.response == 1 or tls.handshake.type == 1 or http.request
        or ssh.protocol or ldap or kerberos or smb or smb2 or ntp or syslog or snmp')
    n_rpc=$(payloads rpc 'dcerpc or rpc')
fi

echo "seeded capture_reader=$n_capture decoder=$n_decoder rules_parser=$n_rules flow_records=$n_records collector=$n_collector app=$n_app rpc=$n_rpc"
