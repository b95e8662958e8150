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
cap=$(sed -n 's/.*rx_pcap=\([^,"]*\).*/\1/p' "$cfg" | head -1)
mbufs=$(sed -n 's/^mbufs *= *\([0-9]*\).*/\1/p' "$cfg" | head -1)
room=$(sed -n 's/^mbuf-data-room *= *\([0-9]*\).*/\1/p' "$cfg" | head -1)
mem=$(sed -n 's/.*"-m", "\([0-9]*\)".*/\1/p' "$cfg" | head -1)
if [ -z "$cap" ] || [ -z "$mbufs" ] || [ -z "$room" ] || [ -z "$mem" ]; then
  echo "profile: $cfg: no rx_pcap=, mbufs, mbuf-data-room or \"-m\" (not a bench configuration?)" >&2
  exit 2
fi
dir=$(mktemp -d /tmp/svcard-profile.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# The thread id of the thread named $2 in process $1 (waits up to 10 s for it, while the
# process lives); $3 is the process's log, shown when there is no such thread.
thread_of() {
  local tid
  for _ in $(seq 1 100); do
    tid=$(ps -L -o tid=,comm= -p "$1" 2>/dev/null | awk -v n="$2" '$2 == n {print $1; exit}')
    [ -n "$tid" ] && { echo "$tid"; return; }
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  echo "profile: no thread $2 in process $1; the end of its log ($3):" >&2
  tail -n 5 "$3" >&2
  return 1
}

# Shares of $1 (a perf.data) by $3 (sym: function; dso: library), and ns a packet at $2
# packets a second.
report() {
  local pps=$2 key=$3
  echo "  median rate $(awk -v p="$pps" 'BEGIN {printf "%.3f", p / 1e6}') Mpps, $(awk -v p="$pps" 'BEGIN {printf "%.1f", 1e9 / p}') ns a packet"
  perf report -i "$1" --no-children --stdio --sort "$key" 2>/dev/null |
    awk -v p="$pps" '/^ +[0-9.]+%/ {
        s = $1; sub("%", "", s); if (s + 0 < 1) next
        $1 = ""; sub(/^ +/, "")
        printf "  %6.2f%% %7.1f ns  %s\n", s, s / 100 * 1e9 / p, substr($0, 1, 90)
      }'
}

median() {
  sort -n | awk '{v[NR] = $1} END {if (NR == 0) print 0; else print v[int((NR + 1) / 2)]}'
}

echo "svcard ($bin):"
"$bin" run -f "$cfg" --socket "$dir/show.sock" --backend dpdk --rate --duration $((warm + secs + 2)) \
  >"$dir/svcard.log" 2>&1 &
pid=$!
sleep "$warm"
tid=$(thread_of "$pid" worker-0 "$dir/svcard.log")
perf record -q -e cpu-clock -t "$tid" -o "$dir/svcard.data" -- sleep "$secs" >/dev/null 2>&1
wait "$pid" || true
pid=
pps=$({ grep "rate:" "$dir/svcard.log" || true; } | tail -n +$((warm + 1)) | sed 's/.*rx_pps=\([0-9]*\).*/\1/' | median)
[ "$pps" != 0 ] || { echo "profile: svcard gave no rate; its log:" >&2; tail -5 "$dir/svcard.log" >&2; exit 1; }
report "$dir/svcard.data" "$pps" sym

echo "dpdk-testpmd 5tswap ($cap):"
timeout -s INT $((warm + secs + 3)) dpdk-testpmd --no-huge -m "$mem" --no-pci --no-shconf --no-telemetry \
  --file-prefix "svprof$$" -l 0-1 --vdev="net_pcap0,rx_pcap=$cap,infinite_rx=1" \
  --vdev=net_null0,no-rx=1 -- --forward-mode=5tswap --mbuf-size="$room" \
  --total-num-mbufs="$mbufs" --stats-period=1 --nb-cores=1 >"$dir/testpmd.log" 2>&1 </dev/null &
pid=$!
sleep "$warm"
# `timeout` is the parent: the forwarding lcore is a thread of its child.
tp=$(pgrep -P "$pid" -x dpdk-testpmd || echo "$pid")
tid=$(thread_of "$tp" rte-worker-1 "$dir/testpmd.log")
perf record -q -e cpu-clock -t "$tid" -o "$dir/testpmd.data" -- sleep "$secs" >/dev/null 2>&1
wait "$pid" || true
pid=
# Port 0's receive rate (port 1 is the sink: its Rx-pps lines are 0), after the warm-up.
pps=$({ grep -a "Rx-pps:" "$dir/testpmd.log" || true; } | awk '$2 > 0 {print $2}' | tail -n +$((warm + 1)) | median)
[ "$pps" != 0 ] || { echo "profile: testpmd gave no rate; its log:" >&2; tail -5 "$dir/testpmd.log" >&2; exit 1; }
# Debian's DPDK libraries are stripped: by library (net_pcap: the receive; testpmd: the
# forwarding; net_null: the transmit and the frees).
report "$dir/testpmd.data" "$pps" dso
