"""Keep secrets (API keys, HF tokens, PhysioNet passwords) out of logs, records and reports.

Secrets only ever come from environment variables. Two sources of values are replaced by '***' in whatever
we write or print (`redact`):
- any variable whose name looks like a secret (…KEY, …TOKEN, …SECRET, …PASSWORD);
- every value the kit was told to use as a credential, whatever the variable's name (`--api-key-env
  MY_GATEWAY_AUTH`): read it with `read_secret`, which remembers the value for the rest of the process.
"""

from __future__ import annotations

import os
import re
from typing import Any

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
MIN_LEN = 6  # shorter values would redact ordinary words
_READ: set[str] = set()  # values read through read_secret in this process


def read_secret(name: str) -> str:
    """The value of environment variable `name` ("" when unset), remembered so that `redact` replaces it."""
    value = os.environ.get(name, "")
    if value:
        _READ.add(value)
    return value


def secret_values() -> list[str]:
    values = {v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_LEN}
    values |= {v for v in _READ if len(v) >= MIN_LEN}
    return sorted(values, key=len, reverse=True)


def redact(value: Any, secrets: list[str] | None = None) -> Any:
    """A copy of `value` (str / list / dict, nested) with every secret replaced by '***'."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, "***")
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    return value
