#!/usr/bin/env bash
# Side-by-side A/B of two svcard builds: both run at the same time, one per core, on the
# same capture, then swap cores; each pass prints both rates and their ratio, the end the
# median ratio.
#
#   perf/side-by-side.sh CONFIG BUILD_A BUILD_B [ROUNDS] [SECONDS]
#
# CONFIG is an established-traffic configuration that `svcard bench --keep DIR` wrote
# (DIR/svcard-flows-N-flows.toml); each build gets a copy with its own single lcore, EAL
# file prefix and show socket. Rates are the median of the per-second receive rates after
# 3 warm-up seconds.
#
# Why: on a shared host the rate of one build moves by +-20% from one run to the next (the
# last-level cache and memory are shared with other tenants), so back-to-back runs cannot
# show a 2% change. Two builds running at once see the same host at the same moment; the
# ratio of their rates moved by less than 2% when both were the same build. The absolute
# rates are lower than alone (the two share the cache and memory), which weighs memory
# effects more than a solo run does: use it to compare builds, and `svcard bench` for the
# figures against testpmd.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
cfg=$1 a=$2 b=$3 rounds=${4:-3} secs=${5:-10}
for f in "$cfg" "$a" "$b"; do
  [ -e "$f" ] || { echo "side-by-side: $f: not found" >&2; exit 2; }
done
nproc_=$(nproc)
if [ "$nproc_" -lt 2 ]; then
  echo "side-by-side: needs two cores, this machine has $nproc_" >&2
  exit 2
fi
dir=$(mktemp -d /tmp/svcard-ab.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
for core in 0 1; do
  sed -e "s/\"-l\", \"[0-9,-]*\"/\"-l\", \"$core\"/" \
    -e "s/\"--file-prefix\", \"[^\"]*\"/\"--file-prefix\", \"svab$$c$core\"/" \
    "$cfg" >"$dir/core$core.toml"
  grep -q "\"-l\", \"$core\"" "$dir/core$core.toml" ||
    { echo "side-by-side: $cfg has no \"-l\" EAL argument to pin" >&2; exit 2; }
done
median_rate() {
  grep "rate:" "$1" | tail -n +4 | sed 's/.*rx_pps=\([0-9]*\).*/\1/' | sort -n |
    awk '{v[NR]=$1} END {if (NR == 0) print 0; else printf "%.3f", v[int((NR+1)/2)]/1e6}'
}
ratios=()
for r in $(seq 1 "$rounds"); do
  for swap in 0 1; do
    ca=$dir/core$swap.toml cb=$dir/core$((1 - swap)).toml
    pids=()
    "$a" run -f "$ca" --socket "$dir/a.sock" --backend dpdk --rate --duration "$secs" >"$dir/a.log" 2>&1 &
    pids+=($!)
    "$b" run -f "$cb" --socket "$dir/b.sock" --backend dpdk --rate --duration "$secs" >"$dir/b.log" 2>&1 &
    pids+=($!)
    wait "${pids[@]}" || true
    pids=()
    ra=$(median_rate "$dir/a.log") rb=$(median_rate "$dir/b.log")
    if [ "$ra" = 0 ] || [ "$rb" = 0 ]; then
      echo "side-by-side: a run gave no rate; its log:" >&2
      tail -n 5 "$dir/a.log" "$dir/b.log" >&2
      exit 1
    fi
    ratio=$(awk -v x="$rb" -v y="$ra" 'BEGIN {printf "%.3f", x / y}')
    ratios+=("$ratio")
    echo "round $r, A on core $swap: A $ra Mpps, B $rb Mpps, B/A $ratio"
  done
done
printf '%s\n' "${ratios[@]}" | sort -n |
  awk '{v[NR]=$1} END {printf "B/A: median %s (min %s, max %s) over %d passes\n", v[int((NR+1)/2)], v[1], v[NR], NR}'
