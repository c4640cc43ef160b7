"""Text pieces the reading rules share: what an explicit answer statement looks like, and when a mention is negated."""

from __future__ import annotations

import re

# "the answer is", "Answer:", "Correct answer:", "**Final answer:**", "The best choice would be" (not "Answer B …": no connector)
_KEYS = (r"final\s+answer|correct\s+answer|right\s+answer|best\s+answer|answer|correct\s+option|best\s+option|"
         r"right\s+option|correct\s+choice|best\s+choice|right\s+choice")
CONNECT = r"(?:\s*\**\s*[:=]|\s+(?:is|would\s+be|will\s+be|should\s+be|must\s+be)\b(?:\s*:)?)"
HEDGE = r"(?:\s+(?:probably|likely|most\s+likely|definitely|clearly|therefore))?"
FILLER = r"[\s*_\"'“”‘’]*"


def statement(keys: str = _KEYS) -> str:
    """Regex of an explicit answer statement up to where the stated answer begins."""
    return rf"\b(?:{keys})(?:\s+(?:choice|option))?\**{CONNECT}{HEDGE}{FILLER}"


ANSWER_STATEMENT = statement()

_NEG_BEFORE = re.compile(r"\b(?:not|never|rather\s+than|instead\s+of|unlike|except|excluding|rule\s+out|rules\s+out|ruled\s+out|"
                         r"nor|neither|without|no\s+evidence\s+of)\s+(?:\w+\s+){0,2}[\s\"'“(\[*]*$", re.I)
_NEG_AFTER = re.compile(r"^[\)\]\"'”*.:]*\s*(?:\([^)]*\)\s*)?(?:[-–:]\s*)?(?:(?:is|are|was|were|seems|would\s+be|can\s+be)\s+"
                        r"(?:not\b|incorrect|wrong|false|unlikely|less\s+likely|ruled\s+out|excluded|eliminated)|"
                        r"(?:is|are)n[’']t\b|incorrect\b|wrong\b|false\b|can\s+be\s+ruled\s+out)", re.I)


def negated(text: str, start: int, end: int) -> bool:
    """Whether the mention text[start:end] is negated in its sentence: "not B", "rather than (C)", "B is incorrect",
    "Option A: wrong", "histiocytes are unlikely"."""
    before = re.split(r"[.;!?\n]\s", text[max(0, start - 60):start])[-1]
    return bool(_NEG_BEFORE.search(before) or _NEG_AFTER.match(text[end:end + 60]))


def words(alternatives: list[str]) -> str:
    """An alternation of literal phrases, longest first (so "no interaction" wins over "no")."""
    return "|".join(re.escape(a) for a in sorted(alternatives, key=len, reverse=True))
