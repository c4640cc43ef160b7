"""The summary tasks' metrics together: ROUGE for every pair (rouge-score, in bulk), BERTScore and
UMLS concept F1 in one batch each when their optional stack is installed, and the names of those
left out (never a silent zero). Each task passes its own settings (model per era, lower-casing)."""

from __future__ import annotations

from typing import Sequence

from clue.metrics import bertscore, umls
from clue.metrics.rouge import rouge_many


def skipped(with_umls: bool = True) -> dict[str, str]:
    """{metric: how to enable it} for the optional stacks this machine lacks."""
    out: dict[str, str] = {}
    for module in (bertscore, umls) if with_umls else (bertscore,):
        hint = module.available()
        if hint is not None:
            out.update(dict.fromkeys(module.KEYS, hint))
    return out


def rouge_only(with_umls: bool = True) -> bool:
    """Whether `score_summaries` computes ROUGE alone on this machine (no BERTScore or UMLS batch): each row is then
    `rouge` of its own pair, so a task may score pair by pair as its completions land."""
    return bertscore.available() is not None and (not with_umls or umls.available() is not None)


def score_summaries(outputs: Sequence[str], refs: Sequence[str], *, bertscore_model: str, rouge_lowercase: bool = False,
                    bertscore_lowercase: bool = False, truncate_512: bool = False, with_umls: bool = True) -> list[dict[str, float]]:
    """Per-pair rows: rouge1/2/L always; bertscore_* and umls_* when available (`bertscore_model`: a key
    of `bertscore.DEFAULT_MODELS`)."""
    rows = rouge_many(outputs, refs, lowercase=rouge_lowercase)
    if outputs and bertscore.available() is None:
        model, layer = bertscore.DEFAULT_MODELS[bertscore_model]
        scores = bertscore.score(list(outputs), list(refs), model=model, layer=layer, lowercase=bertscore_lowercase,
                                 truncate_512=truncate_512)
        for row, extra in zip(rows, scores):
            row.update(extra)
    if with_umls and outputs and umls.available() is None:
        for row, extra in zip(rows, umls.score(list(outputs), list(refs))):
            row.update(extra)
    return rows
