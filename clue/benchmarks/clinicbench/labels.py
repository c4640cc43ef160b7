"""Label vocabularies shared by prompts, extraction and scoring."""

from __future__ import annotations

from typing import Sequence

from clue.benchmarks.clinicbench.loaders.bio import HOC_LABELS

# BLUE label → how the v1-era HoC prompt names it (with its code), and the code alone
HOC_PROMPT_NAMES = {
    "sustaining proliferative signaling": "1. Sustaining proliferative signaling (PS)",
    "evading growth suppressors": "2. Evading growth suppressors (GS)",
    "resisting cell death": "3. Resisting cell death (CD)",
    "enabling replicative immortality": "4. Enabling replicative immortality (RI)",
    "inducing angiogenesis": "5. Inducing angiogenesis (A)",
    "activating invasion and metastasis": "6. Activating invasion & metastasis (IM)",
    "genomic instability and mutation": "7. Genome instability & mutation (GI)",
    "tumor promoting inflammation": "8. Tumor-promoting inflammation (TPI)",
    "cellular energetics": "9. Deregulating cellular energetics (CE)",
    "avoiding immune destruction": "10. Avoiding immune destruction (ID)",
}
assert set(HOC_PROMPT_NAMES) == set(HOC_LABELS)
HOC_CODES = {lab: name.rsplit("(", 1)[1].rstrip(")") for lab, name in HOC_PROMPT_NAMES.items()}
# surface forms accepted in an answer: BLUE's name and the prompt's name (without number and code)
HOC_NAMES = {lab: (lab, name.split(". ", 1)[1].rsplit(" (", 1)[0]) for lab, name in HOC_PROMPT_NAMES.items()}
DDI_ALIASES = {"advice": "advise", "no interaction": "none", "negative": "none"}


def tags_to_entities(tokens: Sequence[str], tags: Sequence[str]) -> list[str]:
    """Entity strings (tokens joined by spaces) of an IOB2 tag sequence, in order."""
    out: list[str] = []
    current: list[str] = []
    for tok, tag in zip(tokens, tags):
        if tag.startswith("B-") or (tag.startswith("I-") and not current):
            if current:
                out.append(" ".join(current))
            current = [tok]
        elif tag.startswith("I-"):
            current.append(tok)
        else:
            if current:
                out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out
