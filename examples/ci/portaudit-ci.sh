#!/usr/bin/env bash
# Audits a recorded capture in CI (see README, "CI recipes"): findings as
# JSON, SARIF for code scanning, JUnit for the test report, an HTML page
# and the run's statistics, all in OUTDIR. With a BASELINE (an earlier
# run's findings.json, kept as an artifact), only findings that are new
# fail the job, and OUTDIR/diff.txt says what changed.
#
# Usage: portaudit-ci.sh DEPLOYMENT CAPTURE OUTDIR [BASELINE]
# The exit status is portaudit's: 0 pass, 1 findings, 2 error, 3 damaged.
set -euo pipefail
deployment=$1 capture=$2 out=$3 baseline=${4:-}
portaudit=${PORTAUDIT:-portaudit}
mkdir -p "$out"
args=(audit -q -d "$deployment" "$capture"
  --format json -o "$out/findings.json"
  --sarif "$out/portaudit.sarif" --junit "$out/junit.xml"
  --html "$out/report.html" --stats "$out/stats.json")
if [ -n "$baseline" ] && [ -f "$baseline" ]; then
  args+=(--baseline "$baseline")
fi
status=0
"$portaudit" "${args[@]}" || status=$?
if [ -n "$baseline" ] && [ -f "$baseline" ]; then
  # For people reading the job: what is new, fixed or changed.
  "$portaudit" diff "$baseline" "$out/findings.json" > "$out/diff.txt" || true
fi
exit "$status"
