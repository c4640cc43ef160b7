"""Precision/recall/F1 between a predicted and a reference list of drug names (Treatment Recommendation).

Names are compared after `normalise_drug`: Unicode NFKC, literal byte-escape text such as
"\\xe2\\x80\\x93" decoded (the released file inherits these from ChatDoctor), lower case, a
trailing parenthesised brand ("Alprazolam (Xanax)" → "alprazolam") and surrounding punctuation
removed, inner whitespace collapsed. Exact match after normalisation; no synonym or brand-to-generic
mapping (kit choice: ClinicBench's matching rule is unpublished). Scores are per item; the dataset
figure is their mean (a failed extraction is an empty list: P = R = F1 = 0).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

from clue.metrics import prf


def _unescape(text: str) -> str:
    if "\\x" not in text:
        return text
    def repl(m: re.Match[str]) -> str:
        raw = bytes(int(h, 16) for h in re.findall(r"\\x([0-9a-fA-F]{2})", m.group(0)))
        return raw.decode("utf-8", errors="replace")
    return re.sub(r"(?:\\x[0-9a-fA-F]{2})+", repl, text)


def normalise_drug(name: str) -> str:
    text = unicodedata.normalize("NFKC", _unescape(str(name))).lower()
    text = re.sub(r"\s*\([^()]*\)\s*$", "", text)
    text = re.sub(r"\s+", " ", text).strip(" .,;:*-\"'`")
    return text


def drug_prf(reference: Iterable[str], predicted: Iterable[str] | None) -> dict[str, float]:
    """P/R/F1 in percent of one item's normalised name sets (None = failed extraction)."""
    gold = {n for n in map(normalise_drug, reference) if n}
    pred = {n for n in map(normalise_drug, predicted or ()) if n}
    tp = len(gold & pred)
    return prf.from_counts(tp, len(pred) - tp, len(gold) - tp)
