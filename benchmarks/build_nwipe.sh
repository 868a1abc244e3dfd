#!/usr/bin/env bash
# Build nwipe from its source repository's release tag, for benchmarks/fast_devices.py (the peer
# the benchmark compares with: Debian 12 ships nwipe 0.33, users pick today's release).
#
#   sudo benchmarks/build_nwipe.sh [--repo URL-or-git-dir] [--tag v0.42] [--cache DIR]
#
# Unattended, as root: installs the apt build dependencies that are missing, clones the tag
# (shallow) into the cache, runs `./autogen.sh && ./configure && make`, and prints the path of
# the built binary on stdout (everything else goes to stderr). A binary already built in the
# cache is reused. Defaults: the upstream repository on GitHub, tag v0.42, /var/cache/sanitize-bench.
set -euo pipefail

repo=https://github.com/martijnvanbrummelen/nwipe.git
tag=v0.42
cache=/var/cache/sanitize-bench
while [ $# -gt 0 ]; do
    case $1 in
        --repo) repo=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --cache) cache=$2; shift 2 ;;
        *) echo "build_nwipe.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "build_nwipe.sh: run as root (it installs build dependencies with apt-get)" >&2
    exit 5
fi

dest=$cache/nwipe-$tag
binary=$dest/src/nwipe

export DEBIAN_FRONTEND=noninteractive
# Checked even when nwipe is built already: what it runs at start-up (without hdparm it exits 1
# before wiping, seen on a pristine Debian) and the libraries it loads; then what nwipe's
# configure.ac checks for (libparted, ncurses/panel, libconfig) and the tools autogen.sh and make need.
packages=(hdparm smartmontools dmidecode kmod libparted-dev libncurses-dev libconfig-dev
    git ca-certificates build-essential autoconf automake libtool pkg-config)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
if [ -x "$binary" ]; then
    echo "$binary"
    exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.nwipe-$tag.XXXXXX")
trap 'rm -rf "$work"' EXIT
git -c advice.detachedHead=false clone -q --depth 1 --branch "$tag" "$repo" "$work/src" >&2
(
    cd "$work/src"
    ./autogen.sh
    ./configure
    make -j"$(nproc)"
) >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    echo "build_nwipe.sh: building nwipe $tag failed (the log's end is above)" >&2
    exit 1
}
test -x "$work/src/src/nwipe"
rm -rf "$dest"
mv "$work/src" "$dest"
echo "$binary"
