"""BERTScore P/R/F1 per pair, as CLUE computed it (spec §2.7.2), in percent.

CLUE called `bert_score.score` from a fork of bert-score 0.3.13 whose only change that matters
is a layer-table entry for Bio_ClinicalBERT (layer 9). We use upstream 0.3.13's `BERTScorer`
and pass the layer explicitly, with the settings the fork's defaults gave: no IDF ([CLS]/[SEP]
weight 0), no baseline rescaling, batch size 64, slow tokenizer (transformers 5 has only the
fast BERT tokenizer; on a toy model it gave the same scores as 4.46's slow one), CUDA when
`torch.cuda.is_available()` (BERTScorer's own default). Each text is stripped; an empty candidate
or reference scores P = R = F = 0 (bert-score's rule; we apply it before calling it, so an
all-empty task needs no model).

Q24: the original never truncated (neither tokenizer defines a maximum length), so an input over
512 word-pieces (BERT's position limit, [CLS]/[SEP] included) crashed the whole task. With
`truncate_512` such inputs are cut to 512 word-pieces; without it those pairs get no BERTScore
(left out of the task mean, counted in a warning) instead of a crash or an invented value.
Q25 (`lowercase`) lower-cases both sides first, as the TGI-era ProblemSummary code did.

The stack (torch, transformers, bert-score) is the optional `bertscore` extra; every import is
lazy so the core install works without it. The model is loaded once per (model, layer); a model
that cannot be loaded (offline and not cached) is a ConfigError, never a silent zero. Setting
CLUE_SKIP_METRICS=bertscore (comma list) reports the metric as skipped even when installed, so
test suites never fetch weights.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Any, Sequence

from clue.errors import ConfigError

INSTALL_HINT = "pip install 'clue-kit[bertscore]'"
DEFAULT_MODELS: dict[str, tuple[str, int]] = {
    "scibert": ("allenai/scibert_scivocab_uncased", 8),  # lang="en-sci" in bert-score
    "clinicalbert": ("emilyalsentzer/Bio_ClinicalBERT", 9),  # the fork's table entry
}
KEYS = ("bertscore_p", "bertscore_r", "bertscore_f1")
BATCH_SIZE = 64
MAX_PIECES = 512  # word-pieces per input including [CLS] and [SEP]


def available() -> str | None:
    """None when the BERTScore stack imports, else how to install it (or why it is switched off)."""
    if "bertscore" in [m.strip() for m in os.environ.get("CLUE_SKIP_METRICS", "").lower().split(",")]:
        return "switched off by CLUE_SKIP_METRICS; unset it to compute BERTScore"
    try:
        import bert_score  # noqa: F401  (imports torch and transformers)
    except Exception:  # ImportError, or a broken torch/transformers install
        return INSTALL_HINT
    return None


@lru_cache(maxsize=2)
def _scorer(model: str, layer: int) -> Any:
    """bert-score's scorer for one model/layer (weights load once, on first use)."""
    from bert_score import BERTScorer

    try:
        scorer = BERTScorer(model_type=model, num_layers=layer, batch_size=BATCH_SIZE, idf=False,
                            rescale_with_baseline=False, use_fast_tokenizer=False)
    except Exception as exc:  # offline and not cached, gated, out of memory …
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(f"BERTScore model {model} could not be loaded ({type(exc).__name__}: {first})",
                          "download it once with network access (it lands in the Hugging Face cache), "
                          "or set CLUE_SKIP_METRICS=bertscore to skip BERTScore") from None
    # bert-score encodes with truncation at tokenizer.model_max_length, which these tokenizers leave
    # unset (no truncation). Over-long inputs never reach the model without `truncate_512` (they are
    # left out), so setting the limit here only takes effect when truncation is asked for. It also
    # keeps transformers 5 working: its tokenizers overflow on the "unset" value (~1e30).
    scorer._tokenizer.model_max_length = MAX_PIECES
    return scorer


def _pieces(scorer: Any, text: str) -> int:
    """Word-pieces bert-score would feed the model, [CLS]/[SEP] included (tokenize() never truncates)."""
    tokenizer = scorer._tokenizer
    return len(tokenizer.tokenize(text)) + tokenizer.num_special_tokens_to_add()


def score(cands: Sequence[str], refs: Sequence[str], *, model: str, layer: int, lowercase: bool = False,
          truncate_512: bool = False) -> list[dict[str, float]]:
    """Per-pair BERTScore in percent, in input order: one bert-score call for the whole list.

    A pair left out because an input exceeds 512 word-pieces (without `truncate_512`) gets an
    empty dict, so the caller's per-sample scores simply lack the BERTScore keys.
    """
    if len(cands) != len(refs):
        raise ValueError(f"{len(cands)} candidates but {len(refs)} references")
    cands = [str(c).strip() for c in cands]
    refs = [str(r).strip() for r in refs]
    if lowercase:
        cands, refs = [c.lower() for c in cands], [r.lower() for r in refs]
    out: list[dict[str, float]] = [dict.fromkeys(KEYS, 0.0) if not (c and r) else {} for c, r in zip(cands, refs)]
    todo = [i for i, (c, r) in enumerate(zip(cands, refs)) if c and r]
    if not todo:
        return out
    scorer = _scorer(model, layer)
    if not truncate_512:
        too_long = [i for i in todo if max(_pieces(scorer, cands[i]), _pieces(scorer, refs[i])) > MAX_PIECES]
        if too_long:
            print(f"clue: warning: BERTScore left out {len(too_long)} pair(s) longer than {MAX_PIECES} word-pieces "
                  "(the original code crashed on them, Q24; the corrected protocol truncates)", file=sys.stderr)
            skip = set(too_long)
            todo = [i for i in todo if i not in skip]
            if not todo:
                return out
    p, r, f = scorer.score([cands[i] for i in todo], [refs[i] for i in todo], batch_size=BATCH_SIZE)
    for i, pv, rv, fv in zip(todo, p.tolist(), r.tolist(), f.tolist()):
        out[i] = {"bertscore_p": 100.0 * pv, "bertscore_r": 100.0 * rv, "bertscore_f1": 100.0 * fv}
    return out
