#!/usr/bin/env bash
# Builds the .deb (cpack), installs it with dpkg -i, uses what it installed
# (ztc --version, a compile of the installed example, ztc-cni VERSION,
# systemd-analyze verify of the unit), removes it with dpkg -r and checks
# that nothing of it is left. Root only (ctest: exit 77 = skipped otherwise).
#   tools/package-test.sh [BUILD_DIR]
set -euo pipefail
build=$(cd "${1:-$(dirname "$0")/../build}" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "package-test: skipped: dpkg -i needs root" >&2
  exit 77
fi
if dpkg-query -W -f='${Status}' ztc 2>/dev/null | grep -q "install ok installed"; then
  echo "package-test: a ztc package is installed on this machine; not replacing it" >&2
  exit 1
fi
start=$(date +%s.%N)
cd "$build"
cmake --build "$build" --target ztc ztc-cni >/dev/null
cpack -G DEB >/dev/null 2>&1
deb=$(ls -t "$build"/ztc_*.deb | head -1)
echo "package-test: built $deb"

# What the package holds, path by path.
contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
for path in /usr/bin/ztc /opt/cni/bin/ztc-cni /usr/share/man/man1/ztc.1 \
  /usr/share/bash-completion/completions/ztc /usr/lib/systemd/system/ztc.service \
  /usr/libexec/ztc/ztc-node /usr/share/ztc/examples/ambient-node.zt \
  /usr/share/ztc/examples/ztc.env.example; do
  grep -qx "$path" <<<"$contents" || { echo "package-test: $path is not in the package" >&2; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for library in libnftables1 libnl-route-3-200 libnl-3-200 libantlr4-runtime4.9; do
  grep -q "$library" <<<"$depends" || { echo "package-test: Depends lacks $library: $depends" >&2; exit 1; }
done

installed=0
cleanup() { if [ "$installed" = 1 ]; then dpkg -r ztc >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
dpkg -i "$deb" >/dev/null
installed=1
files=$(dpkg -L ztc)

version=$(/usr/bin/ztc --version)
[ "$version" = "ztc 0.1.0" ] || [ "$version" = "0.1.0" ] ||
  { echo "package-test: ztc --version said '$version'" >&2; exit 1; }
/usr/bin/ztc compile /usr/share/ztc/examples/ambient-node.zt --emit nft | grep -q "table ip ztunnel"
CNI_COMMAND=VERSION /opt/cni/bin/ztc-cni </dev/null | grep -q '"supportedVersions"'
if systemd-analyze --version >/dev/null 2>&1; then
  # Only the unit's own problems: a missing kubelet.service is not one.
  if ! out=$(systemd-analyze verify /usr/lib/systemd/system/ztc.service 2>&1); then
    echo "package-test: systemd-analyze verify: $out" >&2
    exit 1
  fi
  [ -z "$out" ] || { echo "package-test: systemd-analyze verify: $out" >&2; exit 1; }
else
  echo "package-test: systemd-analyze cannot run here; unit not verified" >&2
fi

dpkg -r ztc >/dev/null 2>&1
installed=0
left=""
while read -r path; do
  # Directories shared with other packages (/usr/bin, /opt/cni/bin, ...) stay.
  if [ -e "$path" ] && [ ! -d "$path" ]; then left+=" $path"; fi
done <<<"$files"
for dir in /usr/libexec/ztc /usr/share/ztc /opt/cni/bin/ztc-cni; do
  [ ! -e "$dir" ] || left+=" $dir"
done
if [ -n "$left" ]; then
  echo "package-test: left after dpkg -r:$left" >&2
  exit 1
fi
if dpkg-query -W -f='${Status}' ztc 2>/dev/null | grep -q "installed"; then
  echo "package-test: dpkg still lists ztc" >&2
  exit 1
fi
end=$(date +%s.%N)
printf 'package-test: ok (%.1f s: cpack, dpkg -i, use, dpkg -r)\n' "$(echo "$end - $start" | bc 2>/dev/null || echo 0)"
