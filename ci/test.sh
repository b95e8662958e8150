#!/usr/bin/env bash
# svcard's test command: installs what is missing, then runs every test twice: the default
# build (pure-Rust pcap backend, no libdpdk needed) and the DPDK build (EAL on virtual
# devices), after clippy on both builds. This is the command the README names and .ci/run
# calls.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
export CARGO_TERM_COLOR=never
if cargo fmt --version >/dev/null 2>&1; then
  echo "== format (cargo fmt --check)"
  cargo fmt --all -- --check
else
  echo "== format not checked: rustfmt is not installed (rustup component add rustfmt)"
fi
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy >/dev/null 2>&1 || true
if cargo clippy --version >/dev/null 2>&1; then
  echo "== lints (cargo clippy, both builds, warnings are errors)"
  cargo clippy --workspace --exclude dpdk-sys --all-targets -- -D warnings
  cargo clippy --workspace --all-targets --features dpdk -- -D warnings
else
  echo "== lints not checked: clippy is not installed (rustup component add clippy)"
fi
echo "== import circles between files (ci/import-circles.py)"
python3 ci/import-circles.py
echo "== tests without DPDK (pure-Rust backend)"
cargo test --workspace --exclude dpdk-sys
echo "== tests with DPDK (virtual devices)"
cargo test --workspace --features dpdk
echo "== fuzz targets (built, each run 10 s from its seeds)"
ci/fuzz.sh 10
