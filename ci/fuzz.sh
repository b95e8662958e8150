#!/usr/bin/env bash
# Builds every fuzz target of svcard (dataplane/fuzz, alg/fuzz, control/fuzz) and runs each
# for a bounded time, coverage-guided, on the stable toolchain:
#
#   ci/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     (default 10 s each, every target)
#
# libFuzzer's coverage instrumentation comes from stable rustc flags (-C passes=
# sancov-module and LLVM's sanitizer-coverage options, as cargo-fuzz passes them); what
# needs nightly is only the address sanitizer, which safe Rust does without: a panic, an
# overflow (overflow checks are on) or a failed assertion is the crash. Each target starts
# from a copy of its seed corpus (seeds/<target>/; the repository's seeds are never
# changed); a crash leaves its input in $FUZZ_OUT (default target/fuzz-out/) and fails the
# run. A longer campaign: ci/fuzz.sh 3600 parse.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
shift || true
only=("$@")
export CARGO_TERM_COLOR=never
target=$(rustc -vV | sed -n 's/^host: //p')
out=${FUZZ_OUT:-$PWD/target/fuzz-out}
mkdir -p "$out"
# The flags go to the targets' code only (--target keeps them off build scripts).
export RUSTFLAGS="-C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=4 \
-C llvm-args=-sanitizer-coverage-inline-8bit-counters -C llvm-args=-sanitizer-coverage-pc-table \
-C llvm-args=-sanitizer-coverage-trace-compares -C debug-assertions -C overflow-checks"
export CARGO_TARGET_DIR=$PWD/target/fuzz
failed=0
ran=0
for crate in dataplane/fuzz alg/fuzz control/fuzz; do
  echo "== fuzz: building $crate"
  cargo build --quiet --release --bins --target "$target" --manifest-path "$crate/Cargo.toml"
  for src in "$crate"/fuzz_targets/*.rs; do
    name=$(basename "$src" .rs)
    if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $name "* ]]; then continue; fi
    corpus=$(mktemp -d)
    [ -d "$crate/seeds/$name" ] && cp -r "$crate/seeds/$name/." "$corpus/"
    log="$out/$name.log"
    if "$CARGO_TARGET_DIR/$target/release/$name" "$corpus" -max_total_time="$secs" \
        -print_final_stats=1 -artifact_prefix="$out/$name-" >"$log" 2>&1; then
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
      echo "fuzz: $name: ${runs:-?} runs in ${secs} s, no crash"
    else
      echo "fuzz: $name: CRASH (input and log in $out/$name-*, $log)"
      tail -n 30 "$log"
      failed=1
    fi
    ran=$((ran + 1))
    rm -rf "$corpus"
  done
done
echo "fuzz: $ran targets run"
exit $failed
