"""The RAM-resident live image: boot a server from USB or the network and sanitize every disk,
the one it normally boots from included (docs/live-image.md).

- `recipe`: what goes into the image (Debian packages, kernel modules left out, paths, labels).
- `build`: `sanitize image build`, from Debian packages and this project's wheel.
- `job`: the job a booted image runs, from the kernel command line and the config partition.
- `live`: what the image runs on boot (`sanitize image run`), and where results go.
"""
