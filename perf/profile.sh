#!/usr/bin/env bash
# Where a packet's time goes: svcard's worker thread, then dpdk-testpmd's forwarding lcore
# (5tswap), each sampled with `perf record -e cpu-clock` on the same capture, back to back.
# Prints each one's median rate and, per function, its share of the thread's samples and
# nanoseconds a packet (share / rate): the driver's receive (net_pcap's copy out of the
# capture), svcard's own work, the mbuf frees, testpmd's forwarding.
#
#   perf/profile.sh CONFIG [SVCARD] [SECONDS]
#
# CONFIG is a configuration that `svcard bench --keep DIR` wrote (DIR/svcard-flows-N-flows.toml);
# testpmd gets the capture and the mbuf pool of that configuration. SVCARD defaults to
# target/release/svcard (built with `--features dpdk`), SECONDS (sampled, after 5 s of
# warm-up) to 6. Needs `perf` (linux-perf) and dpdk-testpmd.
#
# Why: at 64k sessions and more both forwarders spend most of their time in the driver's
# receive, waiting for the capture's mbufs (two cache misses a packet), so the ratio of their
# rates moves with the host's memory latency. Only ns per packet per function shows what
# svcard adds, and whether a change moved svcard's own share or the driver's.
set -euo pipefail
if [ $# -lt 1 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
cfg=$1 bin=${2:-target/release/svcard} secs=${3:-6}
warm=5
for f in "$cfg" "$bin"; do
  [ -e "$f" ] || { echo "profile: $f: not found" >&2; exit 2; }
done
for t in perf dpdk-testpmd; do
  command -v "$t" >/dev/null || { echo "profile: $t is not installed" >&2; exit 2; }
done
. "$(dirname "$0")/lib.sh"
bench_fields "$cfg" profile || exit 2
scratch_dir svcard-profile

# Samples thread $1 of the run whose PID is the only one in `pids` (its log $2) into $3
# after the warm-up, then waits for the run to end and sets `pps` to the median of the
# rates `$4 LOG WARM` reads from its log.
sample_run() {
  local run=${pids[0]} tid
  sleep "$warm"
  tid=$(thread_of "$(child_or_self "$run")" "$1" "$2")
  perf record -q -e cpu-clock -t "$tid" -o "$3" -- sleep "$secs" >/dev/null 2>&1
  wait "$run" || true
  pids=()
  pps=$("$4" "$2" "$warm" | median)
  need_rate profile "$pps" "$2"
}

echo "svcard ($bin):"
"$bin" run -f "$cfg" --socket "$dir/show.sock" --backend dpdk --rate --duration $((warm + secs + 2)) \
  >"$dir/svcard.log" 2>&1 &
pids=("$!")
sample_run worker-0 "$dir/svcard.log" "$dir/svcard.data" svcard_rates
report "$dir/svcard.data" "$pps" sym 1

echo "dpdk-testpmd 5tswap ($cap):"
start_testpmd 5tswap 1 0 "svprof$$" $((warm + secs + 3)) "$dir/testpmd.log"
pids=("$tp_pid")
sample_run rte-worker-1 "$dir/testpmd.log" "$dir/testpmd.data" testpmd_rates
# Debian's DPDK libraries are stripped: by library (net_pcap: the receive; testpmd: the
# forwarding; net_null: the transmit and the frees).
report "$dir/testpmd.data" "$pps" dso 1
