"""Text from outside (model output, server messages, file contents) made inert before it is shown.

ANSI escape sequences and other control characters could recolour, hide or rewrite what the user
sees in a terminal (or, on some terminals, do worse), and lone surrogates (a server's invalid
UTF-8) cannot be written out at all; both are shown escaped instead (`\\x1b[31m`, `\\x00`, `\\ud800`).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_CONTROL_AND_NEWLINES = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def inert(text: str, *, newlines: bool = False) -> str:
    """`text` with control characters and lone surrogates escaped; tabs kept; \\n and \\r kept only if `newlines`."""
    return (_CONTROL if newlines else _CONTROL_AND_NEWLINES).sub(_escape, text)
