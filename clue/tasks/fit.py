"""Fitting a prompt to the model's context by cutting the document under test (corrected Q8).

The TGI-era code passed `truncate=T`, and the server kept the LAST T tokens: for long discharge
letters on 8k models the system prompt and the few-shot example went first (spec Q8). The corrected
protocol instead renders the prompt, counts its tokens as the server will (the evaluated model's
tokenizer, special tokens included), and when it exceeds T removes tokens from the END of the
evaluated item's document (each task names its document fields, in cutting order), so the
instructions, the shots and the question stay whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

MARGIN = 4  # extra tokens removed per retry: re-tokenising a cut text may merge or split pieces at the cut
FIT_MARGIN = 8  # tokens left free when a budget is set from pieces counted apart (joins may tokenise differently)


@dataclass
class FitReport:
    """What fitting did across one task's prompts (recorded in run.json's task_build)."""

    budget: int
    document_fields: tuple[str, ...]
    prompts: int = 0
    cut: int = 0
    tokens_removed: int = 0
    unfittable: list[str] = field(default_factory=list)  # sample ids too long even with an empty document

    def as_dict(self) -> dict[str, Any]:
        return {"q8": "cut_document", "budget_tokens": self.budget, "document_fields": list(self.document_fields),
                "prompts": self.prompts, "documents_cut": self.cut, "tokens_removed": self.tokens_removed,
                "unfittable": self.unfittable[:50], "n_unfittable": len(self.unfittable)}


def count(tokenizer: Any, text: str) -> int:
    """Tokens the server counts: the model's tokenizer with its special tokens (TGI adds BOS)."""
    return len(tokenizer.encode(text).ids)


def fit_document(render: Callable[[Mapping[str, Any]], str], fields: Mapping[str, Any], doc_fields: Sequence[str],
                 tokenizer: Any, budget: int, sample_id: str, report: FitReport) -> str:
    """`render(fields)` with the end of `fields[doc_fields[0]]` cut until the prompt has ≤ `budget` tokens;
    when that field is emptied and the prompt is still too long, the next field is cut, and so on.

    A prompt that cannot fit even with every document field empty is returned whole (the server
    rejects it and the request is recorded as failed, never scored) and its sample id is reported.
    """
    report.prompts += 1
    prompt = render(fields)
    over = count(tokenizer, prompt) - budget  # of the prompt as it stands (whole, then with emptied fields)
    if over <= 0:
        return prompt
    current, removed = dict(fields), 0
    for name in doc_fields:
        doc_ids = tokenizer.encode(str(current[name]), add_special_tokens=False).ids
        excess = over
        for attempt in range(6):
            keep = len(doc_ids) - excess - attempt * MARGIN
            if keep <= 0:
                break
            candidate = render({**current, name: tokenizer.decode(doc_ids[:keep])})
            still_over = count(tokenizer, candidate) - budget
            if still_over <= 0:
                report.cut += 1
                report.tokens_removed += removed + len(doc_ids) - keep
                return candidate
            excess += still_over
        current[name], removed = "", removed + len(doc_ids)  # this field alone cannot make room: empty it, cut the next
        emptied = render(current)
        over = count(tokenizer, emptied) - budget
        if over <= 0:
            report.cut += 1
            report.tokens_removed += removed
            return emptied
    report.unfittable.append(sample_id)
    return prompt
