#!/usr/bin/env bash
# Instructions per packet of a whole `svcard run` on DPDK virtual devices (the worker, the
# control core, and DPDK's drivers and mempool), counted by valgrind's cachegrind, split into
# DPDK (its libraries and drivers, linked in or shared), glibc's __tls_get_addr (the shared
# libraries' per-lcore variables; none in the default, static build) and svcard's own code.
# Unlike `examples/hotpath` (the worker alone, no DPDK), it sees the ports' receive and
# transmit code too.
#
#   perf/instructions.sh CONFIG [SVCARD] [SECONDS]
#
# CONFIG is a configuration `svcard bench --keep DIR` wrote (DIR/svcard-flows-1000-flows.toml:
# 1k flows, so the count is not skewed by cache misses, which cachegrind does not time).
# Under valgrind svcard's clock runs at its own pace: `--duration` does not give a fixed
# number of packets (SECONDS 1, the default, gave 42 M packets in 74 s; 4 gave 421 M in 10
# minutes), and start-up adds about 4 instructions a packet at 42 M: compare builds at the
# same SECONDS.
set -euo pipefail
if [ $# -lt 1 ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
cfg=$1 bin=${2:-svcard} secs=${3:-1}
command -v valgrind >/dev/null || { echo "instructions: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
dir=$(mktemp -d /tmp/svcard-instr.XXXXXX)
trap 'rm -rf "$dir"' EXIT
valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$dir/cg" \
  "$bin" run -f "$cfg" --socket "$dir/sock" --backend dpdk --duration "$secs" >"$dir/log" 2>&1 || {
  echo "instructions: svcard failed; its log:" >&2; tail -n 5 "$dir/log" >&2; exit 1; }
packets=$(awk '/^worker [0-9]+: rx/ {n += $4} END {print n + 0}' "$dir/log")
total=$(sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' "$dir/log" | tr -d ,)
# From cg_annotate's per-function table (up to the first blank line after its header), read
# whole (no early exit under pipefail): DPDK's code has no source lines (Debian's shared
# libraries show as one `???:???`, its static archives, the default build, as
# `???:eth_pcap_rx_infinite` and the like), and __tls_get_addr by name.
read -r dpdk tls < <(cg_annotate --threshold=0 "$dir/cg" 2>/dev/null | awk '
  /file:function/ {on = 1; next}
  on && /^ *$/ {on = 0; done = 1}
  on && !done {gsub(",", "", $1); if ($0 ~ /[?][?][?]:/) d += $1; if ($0 ~ /__tls_get_addr/) t += $1}
  END {printf "%.0f %.0f\n", d, t}')
[ "$packets" -gt 0 ] || { echo "instructions: no packets forwarded; the log:" >&2; tail -n 5 "$dir/log" >&2; exit 1; }
awk -v p="$packets" -v t="$total" -v d="${dpdk:-0}" -v l="${tls:-0}" 'BEGIN {
  printf "%d packets: %.1f instructions per packet: DPDK %.1f, __tls_get_addr %.1f, svcard %.1f\n",
    p, t / p, d / p, l / p, (t - d - l) / p }'
