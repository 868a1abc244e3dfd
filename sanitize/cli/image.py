"""`sanitize image`: build the RAM-resident live image (USB and network boot) and, inside it,
run the job it was booted for (docs/live-image.md)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from sanitize.cli.app import App, emit_json, info, json_option, pass_app, require_root
from sanitize.image import recipe

BUILD_EPILOG = """\b
Examples:
  sudo sanitize image build --output /srv/sanitize-image
  sudo sanitize image build --output out --mirror http://apt-cache.example:3142/debian

\b
Writes DIR/sanitize-live.iso (hybrid: USB stick or CD, BIOS and UEFI, with a FAT config
partition labelled SANITIZE), DIR/vmlinuz + DIR/initrd.img (network boot: PXE, iPXE, UEFI
HTTP boot) and DIR/manifest.json (Debian packages with versions, the Python wheels and this
project's wheel with their SHA-256, the image id that certificates carry as tool.image).
Exit codes: 0 built; 3 bad input; 5 not root; 6 a build tool is missing; 7 a build step failed.
"""


@click.group("image")
def command() -> None:
    """The live image: boot a server from USB or the network and sanitize every disk."""


@command.command("build", epilog=BUILD_EPILOG)
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Directory for the image files.")
@click.option(
    "--cache",
    default="/var/cache/sanitize-image",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Debian packages and wheels kept between builds (a cold build downloads about 180 MB).",
)
@click.option("--source", type=click.Path(file_okay=False), help="Git checkout to build the wheel from.")
@click.option("--wheel", type=click.Path(dir_okay=False), help="Use this sanitize wheel instead of building one.")
@click.option("--lock", type=click.Path(dir_okay=False), help="Python lock with hashes (default: the bundled one).")
@click.option("--mirror", default=recipe.DEFAULT_MIRROR, show_default=True, help="Debian mirror.")
@click.option(
    "--security-mirror", default=recipe.DEFAULT_SECURITY_MIRROR, show_default=True, help="Debian security mirror."
)
@click.option("--index-url", help="Python package index for the wheels (each is checked by hash anyway).")
@click.option("--extra-package", multiple=True, metavar="PKG", help="Another Debian package (e.g. firmware).")
@click.option("--source-date-epoch", type=int, help="Timestamp for reproducible output (default: the commit's).")
@click.option(
    "--compression-level",
    type=click.IntRange(1, 19),
    default=12,
    show_default=True,
    help="zstd level of the initramfs (higher: smaller download, slower build; booting is as fast).",
)
@json_option
@pass_app
def build(
    app: App,
    output: str,
    cache: str,
    source: str | None,
    wheel: str | None,
    lock: str | None,
    mirror: str,
    security_mirror: str,
    index_url: str | None,
    extra_package: tuple[str, ...],
    source_date_epoch: int | None,
    compression_level: int,
    as_json: bool,
) -> None:
    """Build the live image from Debian packages and this project's wheel (needs root)."""
    from sanitize.image.build import LOCK_FILE, Builder, BuildOptions

    require_root(app.host, "image build")
    options = BuildOptions(
        output=output,
        cache=cache,
        source=source,
        wheel=wheel,
        lock=lock or str(LOCK_FILE),
        mirror=mirror,
        security_mirror=security_mirror,
        index_url=index_url,
        extra_packages=extra_package,
        source_date_epoch=source_date_epoch,
        compression_level=compression_level,
    )
    manifest = Builder(app.host, options, info).build()
    if as_json:
        emit_json(manifest)
        return
    for name, out in manifest["outputs"].items():
        click.echo(f"{os.path.join(output, name)}  {out['size'] / 2**20:.0f} MiB  sha256 {out['sha256']}")
    click.echo(f"{os.path.join(output, recipe.MANIFEST_NAME)}  image id {manifest['image_id']}")
    click.echo(
        f"built in {manifest['build']['seconds']:.0f} s; {len(manifest['debian']['packages'])} Debian packages, "
        f"{len(manifest['python_wheels'])} Python wheels; {manifest['ram']['root_bytes'] / 2**20:.0f} MiB in RAM"
    )


@command.command("lock")
@click.option(
    "--output", required=True, type=click.Path(dir_okay=False), help="The lock to write (sanitize/image/python.lock)."
)
@click.option(
    "--constraints",
    type=click.Path(dir_okay=False),
    help="Keep versions within this constraints file (default: the checkout's constraints/tested.txt, if any).",
)
@click.option("--index-url", help="Python package index.")
@pass_app
def lock(app: App, output: str, constraints: str | None, index_url: str | None) -> None:
    """Pin the image's Python packages (today's releases) with their SHA-256."""
    from sanitize.image.build import tested_constraints, write_lock

    wheels = write_lock(app.host, output, constraints=constraints or tested_constraints(), index_url=index_url)
    click.echo(f"{output}: {len(wheels)} wheels pinned")


@command.command("run")
@pass_app
def run_(app: App) -> None:
    """Run the job this live image was booted for (started by the image's /init).

    \b
    The job comes from the kernel command line (sanitize.job=inventory|decommission|console|shell,
    sanitize.confirm=SERIAL,..., sanitize.collect=URL, ...) and job.toml on the FAT partition
    labelled SANITIZE; results go to results/<run>/ on that partition and to the collection point.
    Exit codes as for `sanitize decommission`; 3 for a bad job.
    """
    from sanitize import image_identity
    from sanitize.cli.decommission import run_decommission
    from sanitize.decommission import Decommission
    from sanitize.errors import ExitCode, Refused
    from sanitize.image.live import run

    require_root(app.host, "image run")
    if image_identity() is None:
        raise Refused(
            "`sanitize image run` runs inside the live image only", hint="build one with `sanitize image build`"
        )

    def execute(dc: Decommission, confirm: Sequence[str], interactive: bool) -> ExitCode:
        return run_decommission(app, dc, confirm=confirm, interactive=interactive, yes_confirmed=False)

    code = run(app.host, app.state, app.methods, execute, info)
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))
