"""UMLS concept F1 per pair, as CLUE computed it (spec §2.7.3), in percent.

Each text becomes a set of UMLS concept names: scispaCy's `en_core_sci_sm` pipeline plus its
`scispacy_linker` (linker_name "umls", resolve_abbreviations True — a no-op without an
abbreviation detector in the pipeline, as in the original —, every other linker default); for each
entity with at least one candidate, the top candidate's concept id is mapped to the knowledge
base's canonical name. Then P = |pred ∩ gold| / |pred| (0 if pred is empty),
R = |gold ∩ pred| / |gold| (0 if gold is empty), F = 2PR / (P + R) (0 if P + R = 0).
Texts are used in their original case (both eras).

The stack (spaCy, scispaCy, the en_core_sci_sm model, and the ~1 GB linker knowledge base that
scispaCy downloads to ~/.scispacy on first use) is the optional `umls` extra; imports are lazy
and the pipeline is built once. `set_extractor` swaps in another text → concept-name-set
function (tests inject a fake; a site with its own UMLS tooling can plug it in). Setting
CLUE_SKIP_METRICS=umls (comma list) reports the metric as skipped even when installed.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Callable, Sequence

from clue.errors import ConfigError

Extractor = Callable[[str], "set[str]"]
MODEL = "en_core_sci_sm"
MODEL_URL = "https://s3-us-west-2.amazonaws.com/ai2-s2-scispacy/releases/v0.5.4/en_core_sci_sm-0.5.4.tar.gz"
INSTALL_HINT = (f"pip install 'clue-kit[umls]' {MODEL_URL} (scispaCy then downloads its ~1 GB UMLS linker "
                "knowledge base to ~/.scispacy on first use; set SCISPACY_CACHE to move it)")
KEYS = ("umls_p", "umls_r", "umls_f1")

_injected: Extractor | None = None
_default: Extractor | None = None


def set_extractor(fn: Extractor | None) -> None:
    """Use `fn(text) -> set of concept names` instead of scispaCy; None restores the default."""
    global _injected
    _injected = fn


def available() -> str | None:
    """None when concepts can be extracted (an injected extractor, or scispaCy + the model), else how to install."""
    if _injected is not None:
        return None
    if "umls" in [m.strip() for m in os.environ.get("CLUE_SKIP_METRICS", "").lower().split(",")]:
        return "switched off by CLUE_SKIP_METRICS; unset it to compute UMLS F1"
    try:
        import scispacy  # noqa: F401
        import spacy  # noqa: F401
    except Exception:
        return INSTALL_HINT
    if importlib.util.find_spec(MODEL) is None:
        return INSTALL_HINT
    return None


def _build_default() -> Extractor:
    """The scispaCy pipeline of the original code, built once (loads the model and the linker KB)."""
    try:
        import spacy
        from scispacy.linking import EntityLinker  # noqa: F401  (registers the "scispacy_linker" factory)

        nlp = spacy.load(MODEL)
        nlp.add_pipe("scispacy_linker", config={"resolve_abbreviations": True, "linker_name": "umls"})
        linker = nlp.get_pipe("scispacy_linker")
    except Exception as exc:  # missing model, no network for the first KB download, out of memory …
        raise ConfigError(f"the UMLS linker could not be loaded ({type(exc).__name__}: {exc})",
                          f"install it with: {INSTALL_HINT}; or set CLUE_SKIP_METRICS=umls to skip UMLS F1") from None

    def extract(text: str) -> set[str]:
        names: set[str] = set()
        for ent in nlp(text).ents:
            if ent._.kb_ents:  # candidates sorted by score; keep the top one
                names.add(linker.kb.cui_to_entity[ent._.kb_ents[0][0]].canonical_name)
        return names

    return extract


def _extractor() -> Extractor:
    global _default
    if _injected is not None:
        return _injected
    if _default is None:
        _default = _build_default()
    return _default


def prf(pred: set[str], gold: set[str]) -> dict[str, float]:
    """Set precision/recall/F1 in percent, each 0 when undefined (spec §2.7.3)."""
    common = len(pred & gold)
    p = common / len(pred) if pred else 0.0
    r = common / len(gold) if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"umls_p": 100.0 * p, "umls_r": 100.0 * r, "umls_f1": 100.0 * f}


def score(preds: Sequence[str], refs: Sequence[str]) -> list[dict[str, float]]:
    """Per-pair UMLS P/R/F1 in percent, in input order (each distinct text is linked once)."""
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} references")
    extract = _extractor()
    concepts: dict[str, set[str]] = {}
    for text in (*preds, *refs):
        text = str(text)
        if text not in concepts:
            concepts[text] = set(extract(text))
    return [prf(concepts[str(p)], concepts[str(r)]) for p, r in zip(preds, refs)]
