#!/usr/bin/env bash
# Installs the Debian packages svcard's DPDK build and tests need, when they are missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
pkgs=(dpdk dpdk-dev libdpdk-dev libclang-dev libpcap-dev pkg-config clang iproute2 ethtool iputils-ping)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
pkg-config --modversion libdpdk >/dev/null
