"""The host identity that certificates name as the media source."""

from __future__ import annotations

import os

from sanitize.hw import Host


def host_identity(host: Host) -> dict[str, str | None]:
    identity: dict[str, str | None] = {"hostname": host.hostname(), "machine_id": host.machine_id()}
    identity.update(host.dmi())
    identity["kernel"] = os.uname().release
    return identity
