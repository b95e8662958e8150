#!/usr/bin/env bash
# svcard against dpdk-testpmd at the same moment: both forward the same capture at the same
# time, svcard's worker and testpmd's forwarding lcore sharing core 1 (the kernel gives each
# half of it, a few milliseconds at a time), so both see the same host. Each pass prints
# both rates and svcard/testpmd; the end, the median ratio. With PROFILE=1 the last pass
# also samples both threads (`perf record -e cpu-clock`) and prints, per function (per
# library for testpmd), the share of samples and ns a packet of the core time each had.
#
#   perf/versus-testpmd.sh CONFIG [SVCARD] [MODE] [PASSES] [SECONDS]
#
# CONFIG is a configuration `svcard bench --keep DIR` wrote (DIR/svcard-flows-N-flows.toml);
# MODE is testpmd's forwarding mode (5tswap, the default, or io: receive and send, nothing
# read); PASSES 3, SECONDS 10 (rates are medians of the per-second rates after 3 s).
#
# Why: `svcard bench` runs svcard and testpmd one after the other, and this host's rate moves
# by +-20 % from one minute to the next, so its single rounds at 64k sessions spread over
# 0.6-0.95. Sharing one core, the two see the same moments: the spread is smaller, and
# the profile compares the two threads' time per packet on equal terms. Like
# `side-by-side.sh`, each finds its caches cold after the other's time slice: quote
# `svcard bench` for the ratio, use this to see where it comes from.
set -euo pipefail
if [ $# -lt 1 ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
cfg=$1 bin=${2:-target/release/svcard} mode=${3:-5tswap} passes=${4:-3} secs=${5:-10}
warm=3
for f in "$cfg" "$bin"; do
  [ -e "$f" ] || { echo "versus-testpmd: $f: not found" >&2; exit 2; }
done
for t in dpdk-testpmd ${PROFILE:+perf}; do
  command -v "$t" >/dev/null || { echo "versus-testpmd: $t is not installed" >&2; exit 2; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "versus-testpmd: needs two cores, this machine has $(nproc)" >&2
  exit 2
fi
. "$(dirname "$0")/lib.sh"
bench_fields "$cfg" versus-testpmd || exit 2
scratch_dir svcard-versus
# svcard: its EAL on core 0, its worker pinned to core 1, its control core on core 0.
pinned_config "$cfg" "$dir/svcard.toml" 0 "svvs$$" versus-testpmd || exit 2

# Samples thread $1 into $2 for $3 seconds, at 1,000 samples per second of the thread's core
# time (so samples / 1000 is its core seconds).
sample() {
  perf record -q -F 1000 -e cpu-clock -t "$1" -o "$2" -- sleep "$3" >/dev/null 2>&1
}

ratios=()
for p in $(seq 1 "$passes"); do
  "$bin" run -f "$dir/svcard.toml" --socket "$dir/show.sock" --backend dpdk --rate \
    --duration "$secs" >"$dir/svcard.log" 2>&1 &
  sv=$!
  start_testpmd "$mode" 1 0 "svvst$$" $((secs + 1)) "$dir/testpmd.log"
  pids=("$sv" "$tp_pid")
  profiled=
  if [ -n "${PROFILE:-}" ] && [ "$p" = "$passes" ] && [ "$secs" -gt $((warm + 2)) ]; then
    profiled=$((secs - warm - 2))
    sleep "$warm"
    stid=$(thread_of "$sv" worker-0 "$dir/svcard.log")
    ttid=$(thread_of "$(child_or_self "$tp_pid")" rte-worker-1 "$dir/testpmd.log")
    sample "$stid" "$dir/svcard.data" "$profiled" &
    pids+=("$!")
    sample "$ttid" "$dir/testpmd.data" "$profiled"
  fi
  wait "${pids[@]}" || true
  pids=()
  a=$(svcard_rates "$dir/svcard.log" "$warm" | median)
  b=$(testpmd_rates "$dir/testpmd.log" "$warm" | median)
  need_rate versus-testpmd "$a" "$dir/svcard.log"
  need_rate versus-testpmd "$b" "$dir/testpmd.log"
  r=$(awk -v x="$a" -v y="$b" 'BEGIN {printf "%.3f", x / y}')
  ratios+=("$r")
  echo "pass $p: svcard $(awk -v x="$a" 'BEGIN {printf "%.3f", x / 1e6}') Mpps, testpmd $mode $(awk -v x="$b" 'BEGIN {printf "%.3f", x / 1e6}') Mpps, svcard/testpmd $r"
  if [ -n "$profiled" ]; then
    for side in "svcard $a sym" "testpmd $b dso"; do
      set -- $side
      n=$(perf script -i "$dir/$1.data" -F tid 2>/dev/null | wc -l)
      core=$(awk -v n="$n" -v s="$profiled" 'BEGIN {printf "%.3f", n / 1000 / s}')
      echo "$1: $n samples in ${profiled} s, $core of a core"
      report "$dir/$1.data" "$2" "$3" "$core"
    done
  fi
done
printf '%s\n' "${ratios[@]}" | sort -n |
  awk '{v[NR]=$1} END {printf "svcard/testpmd: median %s (min %s, max %s) over %d passes\n", v[int((NR+1)/2)], v[1], v[NR], NR}'
