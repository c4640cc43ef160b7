"""Values that go into a generated sbatch script or Kubernetes manifest: one line each, quoted.

`one_line(option, value)` refuses a value holding a newline or any other control character (one line naming
the option), since a newline in an `#SBATCH` value would start a shell line of its own. `sbatch_option(name,
value)` is the checked value as one `#SBATCH` argument, quoted the POSIX-shell way that sbatch's directive
parser also reads (quotes and backslashes; an unquoted `#` would start a comment).
"""

from __future__ import annotations

import shlex
import unicodedata

from clue.errors import ConfigError


def one_line(option: str, value: str | None) -> str | None:
    """`value` unchanged, or a ConfigError when it holds a control character or a line/paragraph separator."""
    if value is None:
        return None
    bad = next((ch for ch in str(value) if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ConfigError(f"{option} {str(value)!r} holds a control character ({bad!r})",
                          f"pass {option} a value on one line without control characters")
    return value


def sbatch_option(name: str, value: object) -> str:
    """`--name=VALUE` with VALUE checked and quoted for an `#SBATCH` line."""
    return f"--{name}={shlex.quote(str(one_line('--' + name, str(value))))}"
