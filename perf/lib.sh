# Shared by the measuring scripts of perf/ (sourced, not run): what they read from a bench
# configuration, how they start dpdk-testpmd on it, and how they summarise rates.

# The median of the numbers on standard input, one a line (0 when there are none).
median() {
  sort -n | awk '{v[NR] = $1} END {if (NR == 0) print 0; else print v[int((NR + 1) / 2)]}'
}

# Sets `cap`, `mbufs`, `room`, `mem` and `pages` from the configuration $1 (one `svcard bench
# --keep` wrote): the capture net_pcap replays, the mbuf pool's size and data room, the EAL's
# memory (-m), and its pages (--no-huge, or --huge-unlink when the bench chose hugepages:
# testpmd then gets them too). $2 names the calling script in the error.
bench_fields() {
  cap=$(sed -n 's/.*rx_pcap=\([^,"]*\).*/\1/p' "$1" | head -1)
  mbufs=$(sed -n 's/^mbufs *= *\([0-9]*\).*/\1/p' "$1" | head -1)
  room=$(sed -n 's/^mbuf-data-room *= *\([0-9]*\).*/\1/p' "$1" | head -1)
  mem=$(sed -n 's/.*"-m", "\([0-9]*\)".*/\1/p' "$1" | head -1)
  if grep -q '^eal-args = .*"--no-huge"' "$1"; then pages=--no-huge; else pages=--huge-unlink; fi
  if [ -z "$cap" ] || [ -z "$mbufs" ] || [ -z "$room" ] || [ -z "$mem" ]; then
    echo "$2: $1: no rx_pcap=, mbufs, mbuf-data-room or \"-m\" (not a bench configuration?)" >&2
    return 2
  fi
}

# Starts dpdk-testpmd in the background on the capture and pool of the last bench_fields,
# forwarding in mode $1 on lcore $2 (its main lcore is $3), EAL file prefix $4, for $5
# seconds, logging to $6; further arguments go to testpmd after `--`. Sets `tp_pid` (the
# `timeout` that ends it with SIGINT, so that testpmd stops its ports and frees its memory).
start_testpmd() {
  local mode=$1 lcore=$2 main=$3 prefix=$4 secs=$5 log=$6
  shift 6
  timeout -s INT "$secs" dpdk-testpmd "$pages" -m "$mem" --no-pci --no-shconf --no-telemetry \
    --file-prefix "$prefix" -l "$main,$lcore" --main-lcore "$main" \
    --vdev="net_pcap0,rx_pcap=$cap,infinite_rx=1" --vdev=net_null0,no-rx=1 -- \
    --forward-mode="$mode" --mbuf-size="$room" --total-num-mbufs="$mbufs" \
    --stats-period=1 --nb-cores=1 "$@" >"$log" 2>&1 </dev/null &
  tp_pid=$!
}

# testpmd's receive rates (port 0's Rx-pps lines; port 1 is the sink and receives nothing)
# in the log $1, one a line, without the first $2.
testpmd_rates() {
  { grep -a "Rx-pps:" "$1" || true; } | awk '$2 > 0 {print $2}' | tail -n +$(($2 + 1))
}

# svcard's receive rates (its `--rate` lines) in the log $1, one a line, without the first $2.
svcard_rates() {
  { grep "rate:" "$1" || true; } | tail -n +$(($2 + 1)) | sed 's/.*rx_pps=\([0-9]*\).*/\1/'
}

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
  echo "no thread $2 in process $1; the end of its log ($3):" >&2
  tail -n 5 "$3" >&2
  return 1
}

# The process to look for threads in: the child of $1 when it has one (testpmd under the
# `timeout` that ends it), else $1 itself (svcard).
child_or_self() {
  pgrep -P "$1" | head -n 1 | grep . || echo "$1"
}

# The shares of samples in the perf.data $1 by $3 (sym: function; dso: library), each also
# as ns a packet at $2 packets a second for a thread that had $4 of a core (1: all of it).
# Rows under 1 % are left out.
report() {
  local pps=$2 key=$3 core=$4
  echo "  median rate $(awk -v p="$pps" 'BEGIN {printf "%.3f", p / 1e6}') Mpps, $(awk -v p="$pps" -v c="$core" 'BEGIN {printf "%.1f", c * 1e9 / p}') ns a packet"
  perf report -i "$1" --no-children --stdio --sort "$key" 2>/dev/null |
    awk -v p="$pps" -v c="$core" '/^ +[0-9.]+%/ {
        s = $1; sub("%", "", s); if (s + 0 < 1) next
        $1 = ""; sub(/^ +/, "")
        printf "  %6.2f%% %7.1f ns  %s\n", s, s / 100 * c * 1e9 / p, substr($0, 1, 90)
      }'
}

# Writes to $2 a copy of the configuration $1 for a run beside another: its EAL on lcore $3
# with file prefix $4, its worker pinned to core 1 and its control core to core 0. $5 names
# the calling script in the error.
pinned_config() {
  sed -e "s/\"-l\", \"[0-9,-]*\"/\"-l\", \"$3\"/" \
    -e "s/\"--file-prefix\", \"[^\"]*\"/\"--file-prefix\", \"$4\"/" \
    -e "/^cores *=/d" -e "/^control-core *=/d" \
    -e "s/^\[workers\]\$/[workers]\ncores = [1]\ncontrol-core = 0/" \
    "$1" >"$2"
  grep -q "^cores = \[1\]" "$2" ||
    { echo "$5: $1 has no [workers] section to pin" >&2; return 2; }
  grep -q "\"-l\", \"$3\"" "$2" ||
    { echo "$5: $1 has no \"-l\" EAL argument to pin" >&2; return 2; }
}

# Makes the scratch directory `dir` (/tmp/$1.XXXXXX) and an empty `pids`; at exit, every
# process whose PID is in `pids` is ended and the directory removed.
scratch_dir() {
  dir=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
}

# Ends the calling script (named $1) with status 1 when the rate $2 is 0, showing the end
# of the run's log $3.
need_rate() {
  if [ "$2" = 0 ]; then
    echo "$1: a run gave no rate; the end of its log ($3):" >&2
    tail -n 5 "$3" >&2
    exit 1
  fi
}
