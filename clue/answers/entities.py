"""Entity list (NER answered as "i | entity, entity"): the answer is the list of entity strings, scored as IOB2
tags on the item's tokens (`fields["tokens"]`; the gold answer is the tag sequence).

Reading rule (strict):
1. Every "<n> | …" line (any n: models renumber), split on commas; angle brackets, quotes, markdown and a
   trailing type in parentheses ("(disease)") removed; "none"/"n/a" dropped; duplicates dropped.
2. When the pipe holds only the prompt's placeholder ("<recognized entities>"), the bullet lines ("* x") after it.
3. An explicit empty answer ("3 | none", "3 | <none>", "3 | <>", "3 |") → no entities.
4. No "<n> | …" line, or only the placeholder echoed with nothing after it → failure (scored as all "O": it can
   only lose recall).
The strings are mapped back onto the tokens (`tag_entities`): every occurrence of every entity, compared token by
token after splitting both on word/punctuation boundaries, never splitting a corpus token.

Score: seqeval's strict IOB2 entity micro P/R/F1 (an entity counts only with its type and both boundaries; an
"I-" without a "B-" starts none), plus token-level F1 (a token is positive when its tag is not "O") as
`token_f1`; both summed over sentences from per-sentence counts (`tp`, `fp`, `fn`, `token_*`: the corpus keys).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from clue.answers.base import AnswerKind, Extraction
from clue.metrics import prf

_PLACEHOLDER = re.compile(r"^<?\s*recogni[sz]ed entities\s*>?$", re.I)
_TOKEN = re.compile(r"\w+|[^\w\s]")


def _clean_entity(raw: str) -> str:
    ent = raw.strip().strip("<>").strip().strip("\"'“”`*").strip()
    ent = re.sub(r"\s*\((?:chemical|gene|disease|drug)s?\)\s*$", "", ent, flags=re.I)
    return ent.strip().rstrip(".").strip()


def entity_strings(output: str) -> Extraction:
    """Entity strings of an "i | entities" answer (rules 1-4 above), in order."""
    text = str(output or "")
    entities: list[str] = []
    placeholder = False
    for m in re.finditer(r"^\s*\d+\s*\|\s*(.*)$", text, flags=re.M):
        body = m.group(1).strip()
        if _PLACEHOLDER.match(body):
            placeholder = True
            continue
        if body.startswith("<") and body.endswith(">"):
            body = body[1:-1]
        entities += [_clean_entity(part) for part in body.split(",")]
    if not entities and placeholder:
        entities = [_clean_entity(m.group(1)) for m in re.finditer(r"^\s*[*•\-]\s+(.+)$", text, flags=re.M)]
        if not entities:
            return Extraction.fail("only the answer format '<recognized entities>' echoed")
    entities = list(dict.fromkeys(e for e in entities if e and e.lower() not in {"none", "n/a"}))
    if entities:
        return Extraction(tuple(entities))
    if re.search(r"^\s*\d+\s*\|\s*(?:<\s*(?:none|n/a)?\s*>|none|n/a|)\s*$", text, flags=re.M | re.I):
        return Extraction(())
    return Extraction.fail("no 'i | entities' line found")


def tag_entities(tokens: Sequence[str], entities: Sequence[str], entity_type: str = "Disease") -> list[str]:
    """IOB2 tags for `tokens` marking every occurrence of every entity string (case-insensitive, compared token by
    token after splitting both on word/punctuation boundaries, so "5-FU" matches "5 - FU"). Earlier entities win
    where occurrences overlap; a corpus token is never split."""
    pieces: list[str] = []
    owner: list[int] = []
    for i, tok in enumerate(t.lower() for t in tokens):
        for piece in _TOKEN.findall(tok) or [tok]:
            pieces.append(piece)
            owner.append(i)
    tags = ["O"] * len(tokens)
    for ent in entities:
        seq = _TOKEN.findall(ent.lower())
        n = len(seq)
        for start in range(len(pieces) - n + 1) if seq else ():
            if pieces[start:start + n] != seq:
                continue
            first, last = owner[start], owner[start + n - 1]
            if (start > 0 and owner[start - 1] == first) or (start + n < len(pieces) and owner[start + n] == last):
                continue
            if any(tags[j] != "O" for j in range(first, last + 1)):
                continue
            tags[first] = f"B-{entity_type}"
            for j in range(first + 1, last + 1):
                tags[j] = f"I-{entity_type}"
    return tags


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


class TaggedEntities(AnswerKind):
    """What entity lists and IOB answers share: gold = IOB2 tags, seqeval entity and token micro figures."""

    metrics = ("f1", "precision", "recall", "token_f1")
    corpus_keys = ("tp", "fp", "fn", "token_tp", "token_fp", "token_fn")
    answer_tokens = 512

    def __init__(self, entity_type: str = "Disease"):
        self.entity_type = entity_type
        self.labels = (entity_type,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.entity_type!r})"

    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        from clue.metrics.ner import entity_counts, token_counts

        pred = value if value is not None else ("O",) * len(gold)
        etp, efp, efn = entity_counts(gold, pred)
        ttp, tfp, tfn = token_counts(gold, pred)
        return {"tp": etp, "fp": efp, "fn": efn, "token_tp": ttp, "token_fp": tfp, "token_fn": tfn}

    def from_means(self, means: Mapping[str, Any]) -> dict[str, Any]:
        out = prf.from_counts(means["tp"], means["fp"], means["fn"])
        return {"f1": out["f1"], "precision": out["precision"], "recall": out["recall"],
                "token_f1": prf.from_counts(means["token_tp"], means["token_fp"], means["token_fn"])["f1"]}

    def to_json(self, gold: Any) -> Any:
        return list(gold)

    def from_json(self, value: Any) -> Any:
        return tuple(value)


class EntityList(TaggedEntities):
    __doc__ = __doc__
    name = "entity_list"

    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        got = entity_strings(output)
        if got.failed:
            return got
        return Extraction(tuple(tag_entities(fields["tokens"], got.value, self.entity_type)))

    def answer_fields(self, gold: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        """`answer` (the tags) and `entities` (their strings) for "i | <entities>"."""
        return {"answer": gold, "entities": tags_to_entities(fields["tokens"], gold)}

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """No entities: "i | none"."""
        return [f"{i} | none" for i in range(len(golds))]
