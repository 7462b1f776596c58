#!/usr/bin/env bash
# Installs what ztc needs from Debian 12 (when missing) and builds it in
# build/. Sourced by tools/example.sh and tools/test.sh; safe to run again.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build: compiler, CMake, the ANTLR tool (brings a Java runtime) and runtime,
# libnftables, libnl-route-3, nlohmann-json, CLI11, Boost.Test.
# Tests: nft/ip/iptables-legacy/ipset for kernel tests and the equivalence
# lab, python3 for the lab's packet probes, strace to count netlink writes;
# containernetworking-plugins (bridge, host-local) to run ztc-cni in a CNI
# chain as a runtime does; systemd for `systemd-analyze verify` of the unit;
# python3-yaml to read the Kubernetes manifests in their test.
packages=(
  g++ cmake ninja-build pkg-config
  antlr4 libantlr4-runtime-dev
  libnftables-dev libnl-route-3-dev nlohmann-json3-dev libcli11-dev libboost-test-dev
  nftables iproute2 iptables ipset python3 strace
  containernetworking-plugins systemd python3-yaml
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ztc: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "ztc: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${ZTC_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${ZTC_CMAKE_ARGS:-} >/dev/null
cmake --build "$build"
