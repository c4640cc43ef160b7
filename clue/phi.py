"""PHI guard: credentialed (PhysioNet) task data stays on this machine unless you say otherwise.

MedNLI, ProblemSummary, MeDiSumQA and MeDiSumCode are derived from MIMIC clinical notes. The
PhysioNet Credentialed Health Data Use Agreement forbids sharing the data with anyone else, and
PhysioNet's guidance on "responsible use of MIMIC data with online services like GPT" says not to
send it to third-party APIs. So a run with such a task refuses any endpoint that is not a loopback
address (127.0.0.0/8, ::1, localhost) unless `--allow-remote-phi` is given — for a server you run
yourself on another host, or a provider whose terms your agreement allows (e.g. a no-retention
deployment covered by your institution). The check runs before any request is sent. The
baseline engine has no endpoint and always passes.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable
from urllib.parse import urlparse

from clue.errors import ConfigError

RULE = ("the PhysioNet Credentialed Health Data Use Agreement forbids sharing credentialed data with third parties, "
        "including sending it to online services")


class PHIGuardError(ConfigError):
    """Credentialed data would leave this machine."""


def is_loopback_host(host: str | None) -> bool:
    """True only for literal loopback addresses and the name localhost (no DNS lookup: a name could point anywhere)."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(tasks: Iterable[object], endpoint: str | None, *, allow_remote_phi: bool = False) -> None:
    """Raise PHIGuardError when a credentialed task would be sent to a non-loopback endpoint."""
    if endpoint is None or allow_remote_phi:
        return
    credentialed = [getattr(t, "title", str(t)) for t in tasks if getattr(t, "credentialed", False)]
    if not credentialed:
        return
    host = urlparse(endpoint).hostname
    if is_loopback_host(host):
        return
    raise PHIGuardError(
        f"refusing to send {', '.join(credentialed)} (credentialed PhysioNet data) to {host or endpoint}: {RULE}",
        "serve the model on this machine (127.0.0.1), or pass --allow-remote-phi if that host is yours or your agreement covers it")
