#!/bin/bash
# Builds (once) the Debian bookworm test tree the end-to-end Debian tests boot, with debootstrap
# as root, into a cache directory kept between runs:
#     ${UMBRA_CACHE:-$HOME/.cache/umbra}/debian-bookworm/{root/,ok}
# The tree is a `debootstrap --variant=minbase` with the packages the tests use. Tests make an
# ext2 image of it per run (`mke2fs -d`), so the cached tree stays pristine.
# Usage: tools/debian/build-image.sh        (idempotent; prints the tree's path)
# Needs: root, debootstrap, network access to deb.debian.org (or $DEBIAN_MIRROR).
set -euo pipefail
CACHE=${UMBRA_CACHE:-$HOME/.cache/umbra}/debian-bookworm
# strace and gdb for tests/debian_ptrace.rs; libboost-regex1.74.0 named because gdb needs
# libsource-highlight, whose dependency is a virtual package debootstrap does not resolve.
# sysvinit-core (init + getty) for booting to login:, gcc/git/sqlite3 for the Debian e2e test,
# curl/netcat/ssh for networking, trinity for the fuzzing campaign, attr/acl for xattrs.
PACKAGES=python3,tmux,iproute2,passwd,login,procps,strace,gdb,libboost-regex1.74.0,sysvinit-core,gcc,libc6-dev,git,sqlite3,curl,netcat-openbsd,openssh-client,trinity,attr,acl,psmisc,util-linux
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The recipe's version: bump it when PACKAGES change, so caches are rebuilt.
RECIPE="bookworm minbase $PACKAGES v3"
if [ -f "$CACHE/ok" ] && [ "$(cat "$CACHE/ok")" = "$RECIPE" ]; then
  echo "$CACHE/root"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "build-image.sh: debootstrap needs root" >&2
  exit 1
fi
rm -rf "$CACHE"
mkdir -p "$CACHE"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$CACHE/root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
  tail -20 "$CACHE/debootstrap.log" >&2
  exit 1
}
# Root may log in on the console without a password (the image is for tests).
sed -i 's/^root:[^:]*:/root::/' "$CACHE/root/etc/shadow"
rm -rf "$CACHE/root/var/cache/apt/archives/"*.deb
echo "$RECIPE" >"$CACHE/ok"
echo "$CACHE/root"
