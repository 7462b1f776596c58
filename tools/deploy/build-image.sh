#!/usr/bin/env bash
# The node agent's image, from the build's binaries and no base image: the
# install rules (prefix /usr) into an empty root, ztc-agent, and the few host
# programs the scripts use (sh, cp, mv, cmp, sleep, mkdir, rm, awk) with the
# shared libraries everything needs, copied from this Debian 12 host.
#   tools/deploy/build-image.sh [BUILD_DIR] [OUT_DIR]
# Writes OUT_DIR/rootfs and OUT_DIR/ztc-image.tar; then, when buildah or
# podman is installed, imports it as localhost/ztc:VERSION. Without them:
#   podman import --change 'ENTRYPOINT ["/usr/bin/ztc-agent"]' OUT_DIR/ztc-image.tar localhost/ztc:VERSION
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=${2:-$build/image}
version=$(sed -n 's/^project(ztc VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
rootfs="$out/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"
cmake --build "$build" --target ztc ztc-cni >/dev/null
DESTDIR="$rootfs" cmake --install "$build" --prefix /usr >/dev/null
# The image runs the plugin's installer from /usr/bin; /opt/cni/bin is the host's (a volume).
mv "$rootfs/opt/cni/bin/ztc-cni" "$rootfs/usr/bin/ztc-cni"
rm -rf "$rootfs/opt" "$rootfs/usr/share/man" "$rootfs/usr/share/bash-completion"
install -m 0755 "$root/tools/deploy/ztc-agent" "$rootfs/usr/bin/ztc-agent"
strip --strip-unneeded "$rootfs/usr/bin/ztc" "$rootfs/usr/bin/ztc-cni" 2>/dev/null || true

programs=(/bin/sh /bin/cp /bin/mv /usr/bin/cmp /bin/sleep /bin/mkdir /bin/rm /usr/bin/awk)
copy_libraries() {
  ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r library; do
    [ -e "$rootfs$library" ] && continue
    mkdir -p "$rootfs$(dirname "$library")"
    cp -L "$library" "$rootfs$library"
  done
}
copy_with_libraries() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp -L "$1" "$rootfs$1"
  copy_libraries "$1"
}
for program in "${programs[@]}"; do copy_with_libraries "$(readlink -f "$program")"; done
for program in "${programs[@]}"; do
  resolved=$(readlink -f "$program")
  [ "$resolved" = "$program" ] || { mkdir -p "$rootfs$(dirname "$program")"; ln -sf "$resolved" "$rootfs$program"; }
done
copy_libraries "$rootfs/usr/bin/ztc"
copy_libraries "$rootfs/usr/bin/ztc-cni"
mkdir -p "$rootfs/tmp" "$rootfs/run/ztc" "$rootfs/var/lib/ztc" "$rootfs/etc/ztc"
chmod 1777 "$rootfs/tmp"

tar -C "$rootfs" -cf "$out/ztc-image.tar" .
echo "build-image: $out/ztc-image.tar ($(du -sh "$rootfs" | cut -f1))"
image="localhost/ztc:$version"
if command -v buildah >/dev/null; then
  container=$(buildah from scratch)
  buildah add "$container" "$out/ztc-image.tar" / >/dev/null
  buildah config --entrypoint '["/usr/bin/ztc-agent"]' "$container"
  buildah commit "$container" "$image"
  buildah rm "$container" >/dev/null
elif command -v podman >/dev/null; then
  podman import --change 'ENTRYPOINT ["/usr/bin/ztc-agent"]' "$out/ztc-image.tar" "$image"
else
  echo "build-image: neither buildah nor podman is installed; import $out/ztc-image.tar with one of them (see the top of this script)"
fi
