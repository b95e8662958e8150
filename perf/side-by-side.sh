#!/usr/bin/env bash
# Side-by-side A/B of two svcard builds: both run at the same time on the same capture,
# their workers sharing core 1 (the kernel interleaves them every few milliseconds) and
# their control cores sharing core 0, so both see the same core, caches and host at the
# same moments; each pass prints both rates and their ratio. The two passes of a round swap
# the builds' EAL lcores (0 and 1): a round's ratio is the geometric mean of its two, which
# cancels what the lcore gives, and the end prints the median over rounds.
#
#   perf/side-by-side.sh CONFIG BUILD_A BUILD_B [ROUNDS] [SECONDS]
#
# SBS_EXTRA_B, when set, is TOML appended to build B's configuration only: the same build
# twice then compares a feature on against off (SBS_EXTRA_B=$'[log]\nhost = "127.0.0.1:5514"').
#
# CONFIG is a configuration that `svcard bench --keep DIR` wrote (DIR/svcard-flows-N-flows.toml
# for established traffic, DIR/svcard-setup-udp-….toml for the setup rate, or one of them
# pointed at another capture); each build gets a copy with its own single lcore, EAL file
# prefix and show socket. Rates are the median of the per-second receive rates after
# 3 warm-up seconds (counted from the first second with traffic).
#
# Why: on a shared host the rate of one build moves by +-20% from one run to the next (the
# last-level cache and memory are shared with other tenants), so back-to-back runs cannot
# show a 2% change. Sharing one worker core, the same build against itself stayed within
# 0.989-1.020 over 6 passes; one core each (worker and control core together) it spread
# over 0.955-1.201, as each core sees its own interruptions. Each build gets about half a
# core, so the absolute rates are about half a solo run's, and a build's caches are cold
# again after each of the other's time slices, which weighs memory effects more than a
# solo run does: use it to compare builds, and `svcard bench` for the figures against
# testpmd.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
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
. "$(dirname "$0")/lib.sh"
scratch_dir svcard-ab
# Both workers on core 1, both control cores on core 0 (see the header).
for core in 0 1; do
  pinned_config "$cfg" "$dir/core$core.toml" "$core" "svab$$c$core" side-by-side || exit 2
  cp "$dir/core$core.toml" "$dir/core${core}b.toml"
  if [ -n "${SBS_EXTRA_B:-}" ]; then
    printf '\n%s\n' "$SBS_EXTRA_B" >>"$dir/core${core}b.toml"
  fi
done
# The median of a log's per-second receive rates after 3 warm-up seconds, in Mpps. The
# warm-up counts from the first second that received anything: a capture of millions of
# frames takes seconds to load into mbufs, and the two builds load theirs at their own pace.
median_rate() {
  svcard_rates "$1" 0 | awk 'started || $1 > 0 {started = 1; print}' | tail -n +4 | median |
    awk '{if ($1 == 0) print 0; else printf "%.3f", $1 / 1e6}'
}
ratios=()
rounds_mean=()
for r in $(seq 1 "$rounds"); do
  pair=()
  for swap in 0 1; do
    ca=$dir/core$swap.toml cb=$dir/core$((1 - swap))b.toml
    pids=()
    "$a" run -f "$ca" --socket "$dir/a.sock" --backend dpdk --rate --duration "$secs" >"$dir/a.log" 2>&1 &
    pids+=($!)
    "$b" run -f "$cb" --socket "$dir/b.sock" --backend dpdk --rate --duration "$secs" >"$dir/b.log" 2>&1 &
    pids+=($!)
    wait "${pids[@]}" || true
    pids=()
    ra=$(median_rate "$dir/a.log") rb=$(median_rate "$dir/b.log")
    need_rate side-by-side "$ra" "$dir/a.log"
    need_rate side-by-side "$rb" "$dir/b.log"
    ratio=$(awk -v x="$rb" -v y="$ra" 'BEGIN {printf "%.3f", x / y}')
    ratios+=("$ratio")
    pair+=("$ratio")
    echo "round $r, A with lcore $swap: A $ra Mpps, B $rb Mpps, B/A $ratio"
  done
  # The two passes of a round swap the lcores: their geometric mean cancels what an lcore
  # gives one build over the other (on this host up to +-10% a pass).
  mean=$(awk -v x="${pair[0]}" -v y="${pair[1]}" 'BEGIN {printf "%.3f", sqrt(x * y)}')
  rounds_mean+=("$mean")
  echo "round $r: B/A $mean (geometric mean of its two passes)"
done
printf '%s\n' "${ratios[@]}" | sort -n |
  awk '{v[NR]=$1} END {printf "B/A per pass: min %s, max %s over %d passes\n", v[1], v[NR], NR}'
printf '%s\n' "${rounds_mean[@]}" | sort -n |
  awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
       printf "B/A: median %.3f (rounds %s to %s) over %d rounds\n", m, v[1], v[NR], NR}'
