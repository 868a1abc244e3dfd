#!/bin/sh
# PID 1 of the sanitize live image. The whole system is this initramfs, unpacked in RAM: no disk
# is mounted, so every disk of the server, the one it normally boots from included, can be
# sanitized. It mounts the kernel's file systems, lets udev load the drivers for the hardware it
# finds, runs the job (`sanitize image run`, see docs/live-image.md), and powers off.
#
# Unattended jobs (inventory, decommission) print on every console the kernel was given; the
# interactive ones (sanitize.job=console or shell, chosen on the kernel command line) run on the
# last console=, which is /dev/console.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export TERM="${TERM:-linux}"
umask 022

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
hostname sanitize-live
mkdir -p /run/sanitize-live

say() { echo "sanitize-live: $* ($(cut -d' ' -f1 /proc/uptime) s)"; }

# Kernel messages would break up the job's output (and the JSON document) on the console.
dmesg -n 1 2>/dev/null

say "starting udev"
/lib/systemd/systemd-udevd --daemon --resolve-names=never
udevadm trigger --type=subsystems --action=add
udevadm trigger --type=devices --action=add
udevadm settle --timeout=120
say "devices settled"

consoles=$(cat /sys/class/tty/console/active 2>/dev/null)
primary="${consoles##* }"
[ -n "$primary" ] && [ -c "/dev/$primary" ] || primary=console
interactive=""
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        sanitize.job=console | sanitize.job=shell) interactive=1 ;;
    esac
done

if [ -n "$interactive" ]; then
    setsid -c -w sanitize image run <>"/dev/$primary" >&0 2>&1
else
    outputs=""
    for c in $consoles; do
        [ -c "/dev/$c" ] && outputs="$outputs /dev/$c"
    done
    [ -n "$outputs" ] || outputs=/dev/console
    # shellcheck disable=SC2086  # one word per console
    sanitize image run </dev/null 2>&1 | tee $outputs >/dev/null
fi

after=$(cat /run/sanitize-live/after 2>/dev/null)
case "$after" in
    shell)
        say "shell on /dev/$primary; leave it to power off"
        setsid -c -w /bin/bash -l <>"/dev/$primary" >&0 2>&1
        ;;
esac

udevadm control --exit 2>/dev/null
sync
if [ "$after" = reboot ]; then
    say "rebooting"
    busybox reboot -f
else
    say "powering off"
    busybox poweroff -f
fi
# PID 1 must never exit (the kernel would panic): wait for the power to go.
while :; do sleep 60; done
