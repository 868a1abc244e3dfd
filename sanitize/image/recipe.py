"""What the live image is made of. Changing anything here changes the image's id."""

from __future__ import annotations

from sanitize import IMAGE_IDENTITY_FILE

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

# Every program the tool runs (see hw/commands.PACKAGES), what the init and the collection use,
# and nothing else. Not included: mdadm and lvm2, whose udev rules would assemble arrays and
# activate volume groups on the disks under sanitization (the disks are erased whole anyway);
# sedutil (not packaged in Debian 12).
PACKAGES = (
    "linux-image-amd64",
    "python3",
    "python3-venv",  # builds the tool's venv; its pip is removed afterwards
    "udev",
    "kmod",
    "mount",  # mount, umount, losetup (util-linux splits them out; not essential)
    "busybox",  # poweroff -f and the DHCP client (udhcpc)
    "iproute2",
    "ca-certificates",
    "tzdata",  # pyHanko loads time zones when it is imported
    "curl",  # HTTPS collection point
    "openssh-client",  # SFTP collection point, rsync over ssh
    "rsync",
    "cryptsetup-bin",
    "nvme-cli",
    "hdparm",
    "sg3-utils",
    "e2fsprogs",
    "xfsprogs",
    "btrfs-progs",
)

# dpkg never unpacks these (documentation, translations); copyright files stay (licences).
DPKG_EXCLUDES = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/lintian/*",
)

# Kernel module directories a server being sanitized does not need (sound, GPUs, cameras,
# wireless, Bluetooth, industrial I/O, staging drivers): 170 MiB of the 396 MiB of modules.
# Storage, USB, HID (keyboards), wired network and every file system stay.
MODULE_EXCLUDES = (
    "kernel/sound",
    "kernel/drivers/gpu",
    "kernel/drivers/media",
    "kernel/drivers/net/wireless",
    "kernel/drivers/bluetooth",
    "kernel/drivers/infiniband",
    "kernel/drivers/iio",
    "kernel/drivers/staging",
    "kernel/drivers/comedi",
    "kernel/drivers/isdn",
    "kernel/drivers/net/can",
    "kernel/net/wireless",
    "kernel/net/mac80211",
    "kernel/net/bluetooth",
    "kernel/net/can",
)

MODULE_COMPRESSION_LEVEL = 9  # zstd; -19 saves 4 MiB more for a minute of build time

# Removed from the root after installation: build-time tools and caches.
ROOT_EXCLUDES = (
    "boot/*",  # the kernel is booted from outside the root (vmlinuz), never from inside it
    "var/cache/*",
    "var/log/*",
    "var/lib/apt/lists/*",
    "var/cache/debconf/*-old",
    "etc/machine-id",
    # nvme-cli's postinst makes a random NVMe-oF host identity: one image serves many servers
    # (and must build the same twice); sanitize never connects to fabrics.
    "etc/nvme/hostid",
    "etc/nvme/hostnqn",
)

VENV = "/opt/sanitize"
IMAGE_DIR = "/usr/lib/sanitize-live"  # init helpers, the embedded manifest
IDENTITY_FILE = IMAGE_IDENTITY_FILE  # in the venv (sys.prefix): what `tool.image` reports
STATE_DIR = "/var/lib/sanitize"  # in RAM, like everything else

LIVE_LABEL = "SANITIZE_LIVE"  # ISO 9660 volume id of the image
CONFIG_LABEL = "SANITIZE"  # FAT label of the config partition
CONFIG_PARTITION_MIB = 64
ISO_NAME = "sanitize-live.iso"
KERNEL_NAME = "vmlinuz"
INITRD_NAME = "initrd.img"
MANIFEST_NAME = "manifest.json"

# Python and platform of the image, for which the wheels are chosen (Debian 12: CPython 3.11, glibc 2.36).
PYTHON_VERSION = "3.11"
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "any",
)
