"""CLUE's parameterless-baseline rules (the engine that runs them is clue/engines/baseline.py).

The CLUE paper plots a "parameterless baseline" but does not say how it was computed
(shared/research/clue_paper.md §4), so the rules are our own. Each task states its rule in its
`baseline()` method; the shared rule functions live here:

* summarisation (MeQSum) — `first_question`: the first question of the inquiry;
* classification (MedNLI, …) — `majority_label`: the majority label of the few-shot pool.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from clue.types import Sample

_SENTENCE = re.compile(r"[^.?!\n]+[.?!]*")


def first_question(text: str) -> str:
    """Drop a leading "SUBJECT: …" header line and a "MESSAGE:" label, then return the first
    sentence that ends in "?", or else the first sentence."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].upper().startswith("SUBJECT:"):
        lines = lines[1:]
    body = re.sub(r"^\s*MESSAGE:\s*", "", "\n".join(lines), flags=re.IGNORECASE)
    sentences = [s.strip() for s in _SENTENCE.findall(body) if s.strip()]
    if not sentences:
        return body.strip()
    return next((s for s in sentences if s.endswith("?")), sentences[0])


def majority_label(shots: Sequence[Sample]) -> str:
    """The most frequent reference among the few-shot examples (ties: alphabetical)."""
    counts = Counter(s.reference for s in shots)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if counts else ""
