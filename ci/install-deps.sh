#!/usr/bin/env bash
# Installs the Debian packages svcard's DPDK build and tests need, when they are missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
pkgs=(dpdk dpdk-dev libdpdk-dev libclang-dev libpcap-dev pkg-config clang iproute2 ethtool iputils-ping)
# End-to-end tests (tests/alg_e2e.rs): real servers and clients in network namespaces.
# (rsh-client: netkit rsh; rsh-redone's client drops the remote command's stderr.)
pkgs+=(util-linux curl python3 python3-pyftpdlib tftpd-hpa tftp-hpa dnsmasq-base bind9-dnsutils
  rpcbind rstatd rstat-client rsh-redone-server openbsd-inetd rsh-client traceroute)
# The metrics endpoint's test: promtool's linter and a real Prometheus on loopback.
pkgs+=(prometheus)
# Source NAT's behaviour test (tests/nat_e2e.rs): coturn's turnserver and natdiscovery.
pkgs+=(coturn)
# Session logs' test (control/tests/session_log.rs): a real syslog server.
pkgs+=(rsyslog)
# The flood test (tests/flood_e2e.rs): tcpreplay offers the flood, iperf3 the UDP stream.
pkgs+=(tcpreplay iperf3)
# IPFIX's test (control/tests/ipfix.rs): nfdump's collector and reader.
pkgs+=(nfdump)
# The SIP ALG's test (tests/sip_e2e.rs): SIPp as client and server, dumpcap/tshark as the
# oracle of the media that crossed.
pkgs+=(sip-tester tshark)
# The RTSP ALG's test (tests/rtsp_e2e.rs): GStreamer's RTSP server library (driven from
# Python) and its RTSP client.
pkgs+=(gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good)
# The IKE ALG's test (tests/ike_e2e.rs): strongSwan's charon with userspace IPsec
# (kernel-libipsec, in libcharon-extra-plugins) and swanctl.
pkgs+=(strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins)
# The MS-RPC endpoint mapper ALG's test (tests/msrpc_e2e.rs): Samba's samba-dcerpcd and
# rpcclient (smbclient).
pkgs+=(samba smbclient)
# The interactive shell's test (tests/show_commands.rs) types into a real terminal.
pkgs+=(tmux)
# The bench's OVS-DPDK peer (svcard bench --peer ovs-ct; perf/tests/ovs_peer.rs starts a
# private one for a few seconds).
pkgs+=(openvswitch-switch-dpdk)
# The bench's kernel peer (svcard bench --peer nft-ct; perf/tests/nft_peer.rs builds its
# path in namespaces of its own for a few seconds).
pkgs+=(nftables)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # The tests start the servers themselves, inside their namespaces: keep the packages'
  # daemons from starting on the host while they install.
  rcd=/usr/sbin/policy-rc.d
  made_rcd=""
  if [ ! -e "$rcd" ]; then
    trap '[ -z "$made_rcd" ] || $SUDO rm -f "$rcd"' EXIT
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$rcd" >/dev/null
    made_rcd=1
    $SUDO chmod 755 "$rcd"
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
pkg-config --modversion libdpdk >/dev/null
