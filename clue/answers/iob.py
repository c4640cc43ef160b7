"""IOB tags (NER answered as one "word<TAB>tag" line per token): the answer is the tag sequence of the item's
tokens (`fields["tokens"]`); scored like an entity list (clue.answers.entities: seqeval strict IOB2 entity micro
figures plus token F1).

Reading rule (strict):
1. Lines "word<TAB>tag" (or "word tag", the tag last) whose tag reads as B, I (any type suffix, any case) or O;
   a leading "@" on the word is dropped. Other lines (preambles, explanations) are ignored.
2. The pairs are aligned to the tokens left to right (a word may span several tokens); tokens no pair reaches
   are "O"; an "I" that follows an "O" starts an entity ("B").
3. No such line → failure (scored as all "O").
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from clue.answers.base import Extraction
from clue.answers.entities import TaggedEntities

_IOB_TAG = re.compile(r"^(?:([BI])(?:\s*-\s*.*)?|O)$", re.I)


class IobTags(TaggedEntities):
    __doc__ = __doc__
    name = "iob_tags"

    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        pairs: list[tuple[str, str]] = []
        for line in str(output or "").splitlines():
            parts = line.strip().split("\t") if "\t" in line else line.strip().rsplit(None, 1)
            if len(parts) < 2:
                continue
            word, tag = parts[0].strip().lstrip("@"), parts[-1].strip()
            m = _IOB_TAG.match(tag)
            if word and m:
                pairs.append((word, (m.group(1) or "O").upper()))
        if not pairs:
            return Extraction.fail("no 'word<TAB>tag' IOB lines found")
        tokens = fields["tokens"]
        low = [t.lower() for t in tokens]
        tags = ["O"] * len(tokens)
        j, kind = 0, self.entity_type
        for word, tag in pairs:
            seq = [w.lower() for w in word.split()]
            for k in range(j, len(low) - len(seq) + 1):
                if low[k:k + len(seq)] == seq:
                    if tag != "O":
                        tags[k] = f"{'I' if tag == 'I' and k > 0 and tags[k - 1] != 'O' else 'B'}-{kind}"
                        for x in range(k + 1, k + len(seq)):
                            tags[x] = f"I-{kind}"
                    j = k + len(seq)
                    break
        return Extraction(tuple(tags))

    def answer_fields(self, gold: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
        """`answer` (the tags) and `pairs` (token, tag) for the "word<TAB>tag" lines."""
        return {"answer": gold, "pairs": list(zip(fields["tokens"], gold))}

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """No entities: every token tagged "O"."""
        return ["\n".join(f"{tok}\tO" for tok in f["tokens"]) for f in fields]
