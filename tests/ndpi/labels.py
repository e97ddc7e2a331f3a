#!/usr/bin/env python3
"""nDPI application labels (via nfstream) for every flow of the given captures.

Usage:  venv/bin/python labels.py FILE.pcap [FILE.pcapng ...] > labels.csv

Prints one CSV row per flow (header below) to stdout, sorted deterministically.
Errors for a file go to stderr as "ERROR <file>: <message>" and the run goes on;
libpcap read errors that nfstream swallows silently are reported as "WARNING <file>: ...".

Each file is processed in its own worker process (this script re-run with
--worker), so that a capture that makes nfstream crash, hang or print to fd 1
cannot spoil the CSV or the other files.  A worker that exceeds --timeout
seconds is killed (its whole process group) and reported as an error.
"""
import argparse
import csv
import ipaddress
import json
import os
import signal
import subprocess
import sys

HEADER = [
    "file", "proto", "src_ip", "src_port", "dst_ip", "dst_port",
    "application_name", "app_master", "app_sub", "category", "is_guessed",
    "confidence", "requested_server_name", "packets",
]

# Timeouts are given in seconds; nfstream multiplies them by 1000 (ms) into a
# uint64.  10**15 s is far larger than any timestamp jump a capture can have
# (pcapng timestamps near 2**64 us are ~1.8e13 s) and 10**18 ms still fits.
TIMEOUT_S = 10**15
N_DISSECTIONS = 255  # nfstream's maximum (valid range 0..255)


def confidence_name(value):
    """Map nDPI's ndpi_confidence_t integer to its enum name (without prefix)."""
    try:
        from _lib_engine import ffi  # nfstream's bundled engine
        names = ffi.typeof("ndpi_confidence_t").elements  # {int: name}
        name = names.get(int(value))
        if name:
            return name.replace("NDPI_CONFIDENCE_", "")
    except Exception:
        pass
    return str(value)


def libpcap_read_errors(path, limit=10000):
    """Re-read the file with nfstream's own bundled libpcap (via ctypes).

    nfstream's meter treats a libpcap read error (pcap_next_ex() == -1, e.g.
    "truncated dump file", "invalid packet capture length", or libpcap 1.10
    refusing a pcapng interface whose link type / snaplen differs from the
    first one) like "no packet yet" and goes on reading: the records concerned
    are dropped silently and no exception is raised.  This pass counts them.
    Returns (records_read, read_errors, records_before_first_error,
    [distinct error messages]) or None if the file cannot be opened.
    """
    import ctypes
    import _lib_engine
    so = ctypes.CDLL(_lib_engine.__file__)
    so.pcap_open_offline.restype = ctypes.c_void_p
    so.pcap_open_offline.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    so.pcap_next_ex.restype = ctypes.c_int
    so.pcap_next_ex.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                ctypes.POINTER(ctypes.c_void_p)]
    so.pcap_geterr.restype = ctypes.c_char_p
    so.pcap_geterr.argtypes = [ctypes.c_void_p]
    so.pcap_close.argtypes = [ctypes.c_void_p]
    errbuf = ctypes.create_string_buffer(512)
    cap = so.pcap_open_offline(os.fsencode(path), errbuf)
    if not cap:
        return None
    hdr, data = ctypes.c_void_p(), ctypes.c_void_p()
    records = errors = 0
    first = None
    messages = []
    while errors < limit:
        ret = so.pcap_next_ex(cap, ctypes.byref(hdr), ctypes.byref(data))
        if ret == -2:  # end of file
            break
        if ret == 1:
            records += 1
        elif ret == -1:
            errors += 1
            if first is None:
                first = records
            msg = so.pcap_geterr(cap).decode("utf-8", "replace")
            if msg not in messages:
                messages.append(msg)
        else:  # 0 cannot happen on a savefile; stop rather than spin
            break
    so.pcap_close(cap)
    return records, errors, first, messages


def worker(path):
    """Run nfstream on one file; write a JSON list of rows to the real stdout.

    fd 1 is pointed at stderr while nfstream runs, so anything nfstream (or
    its C engine, or its meter child process) prints cannot reach the output.
    """
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from nfstream import NFStreamer

    rows = []
    error = None
    try:
        streamer = NFStreamer(
            source=path,
            decode_tunnels=True,
            statistical_analysis=False,
            splt_analysis=0,
            n_dissections=N_DISSECTIONS,
            idle_timeout=TIMEOUT_S,
            active_timeout=TIMEOUT_S,
            n_meters=1,
        )
        for f in streamer:
            name = f.application_name or ""
            master, _, sub = name.partition(".")
            rows.append([
                f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port,
                name, master, sub, f.application_category_name or "",
                int(bool(f.application_is_guessed)),
                confidence_name(f.application_confidence),
                f.requested_server_name or "",
                f.bidirectional_packets,
            ])
    except Exception as e:  # noqa: BLE001 - any nfstream failure is reported
        error = "%s: %s" % (type(e).__name__, str(e).strip() or "(no message)")
    warning = None
    if error is None:
        try:
            check = libpcap_read_errors(path)
        except Exception as e:  # noqa: BLE001
            check = None
            warning = "libpcap re-read check failed: %s" % e
        if check and check[1]:
            warning = ("libpcap read %d record(s) and reported %d read error(s) "
                       "(first after record %d): %s; nfstream skips read errors "
                       "without raising, so its flows (kept) cover only the "
                       "records libpcap could read"
                       % (check[0], check[1], check[2], " | ".join(check[3][:3])))
    json.dump({"rows": rows, "error": error, "warning": warning}, out)
    out.close()


def run_worker(path, timeout):
    """Returns (rows, error_or_None, warning_or_None)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", path]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and its meter child
        proc.communicate()
        return [], "timeout: no result after %d s (worker killed)" % timeout, None
    try:
        result = json.loads(out)
    except ValueError:
        return [], "worker exited with code %s and no result" % proc.returncode, None
    return result["rows"], result["error"], result.get("warning")


def ip_key(s):
    try:
        a = ipaddress.ip_address(s)
        return (a.version, int(a))
    except ValueError:
        return (99, 0)


def sort_key(row):
    (fname, proto, sip, sport, dip, dport, *rest) = row
    return (fname, proto, ip_key(sip), sport, ip_key(dip), dport,
            [str(x) for x in rest], sip, dip)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--timeout", type=int, default=900,
                    help="seconds allowed per file (default 900)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        worker(args.files[0])
        return 0

    all_rows = []
    n_failed = 0
    for path in args.files:
        fname = os.path.basename(path)
        rows, error, warning = run_worker(path, args.timeout)
        if error:
            n_failed += 1
            # Flows nfstream yielded before failing are not kept: a failed
            # file contributes no rows.
            print("ERROR %s: %s (%d flows before the error discarded)"
                  % (fname, error, len(rows)), file=sys.stderr)
            continue
        if warning:
            print("WARNING %s: %s" % (fname, warning), file=sys.stderr)
        print("ok %s: %d flows" % (fname, len(rows)), file=sys.stderr)
        all_rows.extend([fname] + r for r in rows)

    all_rows.sort(key=sort_key)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(all_rows)
    print("%d files, %d failed, %d flows" % (len(args.files), n_failed, len(all_rows)),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
