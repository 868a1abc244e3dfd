#!/bin/busybox sh
# /init of the test-lab guest (busybox only). It loads the storage, crypto and 9p modules, mounts the
# host root read-only over virtio-9p, binds the guest's /proc /sys /dev /run into it, puts a tmpfs on
# /tmp, mounts the shared run directory read-write at its host path, and chroots to run
# <run>/guest-main.sh. The harness reads <run>/guest-rc; the SANITIZE-VM-* console lines are a fallback
# and tell where a boot stopped.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run

say() { echo "SANITIZE-VM: $* (uptime $(cut -d' ' -f1 /proc/uptime))"; }
finish() {
    echo "SANITIZE-VM-RC=$1"
    sync
    poweroff -f
}

RUN=""
SHARES=""
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        sanrun=*) RUN="${arg#sanrun=}" ;;
        sanshare=*) SHARES="$SHARES ${arg#sanshare=}" ;;
    esac
done
say "userspace up"

# Module load failures are not fatal here: a CPU-specific helper (aesni, pclmul) may be refused under
# TCG while its generic fallback loads; a missing driver shows up as a missing disk in the tests.
while read -r ko; do
    insmod "/lib/modules/$ko" 2>/dev/null
done < /modules.order
say "modules loaded"

[ -n "$RUN" ] || { say "no sanrun= on the kernel command line"; finish 125; }
P9="trans=virtio,version=9p2000.L,msize=512000"
mkdir -p /host
mount -t 9p -o "$P9,ro,cache=loose" hostroot /host || { say "cannot mount the host root"; finish 125; }
for m in proc sys dev run; do
    mount -o rbind "/$m" "/host/$m" || { say "cannot bind /$m"; finish 125; }
done
# The host root is read-only; the guest's own /tmp is a tmpfs (and hides the host's /tmp).
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
mkdir -p "/host$RUN"
mount -t 9p -o "$P9,rw" rundir "/host$RUN" || { say "cannot mount the run directory"; finish 125; }
# Host directories that live under /tmp (hidden by the tmpfs) come as extra read-only shares.
i=0
for share in $SHARES; do
    mkdir -p "/host$share"
    mount -t 9p -o "$P9,ro,cache=loose" "share$i" "/host$share" || { say "cannot mount $share"; finish 125; }
    i=$((i + 1))
done
say "host root mounted"

chroot /host /bin/sh "$RUN/guest-main.sh" > "/host$RUN/guest-main.log" 2>&1
rc=$?
say "guest command finished"
finish "$rc"
