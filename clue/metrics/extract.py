"""Answer extraction from free-text model outputs, one function per answer kind.

Every function returns an `Extraction`: the extracted value, or a failure with a reason. A failure
is never turned into a guess: the metric counts it as wrong (or as "no positive prediction" for
F1 metrics) and the report shows how many items failed, so a model that ignores the answer format
is visible instead of silently mis-scored.

Rules (kit choices — ClinicBench does not publish its extraction rules):
- option letter: the last "answer is / answer: X" statement; else a letter at the very start
  ("C. Collagen", "(B)", not "A 45-year-old …"); else the single option whose full text the output quotes; else failure.
- label from a set (yes/no/maybe, DDI types, …): the last "answer is / answer: <label>"; else a
  label as the first word; else the only label mentioned as a whole word; several → failure.
- label set (HoC): every label named in full or by its code in parentheses / as a bare code list;
  "none" → the empty set; nothing recognisable → failure.
- entity list ("i | entities"): every "<n> | …" line (any n: models renumber), split on commas,
  angle brackets and quotes removed; when the pipe holds the placeholder, bullet lines instead.
- IOB: "word<TAB or spaces>tag" lines whose tag reads as B/I/O (any type suffix, any case).
- drug list: the text after the last "Final Answer:"; one drug per line when it spans several lines
  (commas then belong to names such as "Insulin, Aspart, Human"), else split on commas, semicolons, "and".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class Extraction:
    """The value extracted from one output, or `failed=True` with the reason (value is None)."""

    value: Any
    failed: bool = False
    reason: str = ""

    @staticmethod
    def fail(reason: str) -> Extraction:
        return Extraction(None, True, reason)


_ANSWER_KEY = r"(?:final\s+answer|correct\s+answer|correct\s+option|answer)\s*(?:is|would\s+be|:)?\s*:?\s*"


def option_letter(output: str, letters: str = "ABCD", options: Mapping[str, str] | None = None) -> Extraction:
    """The option letter chosen in `output` (upper-case), see the module rules."""
    text = str(output or "").strip()
    if not text:
        return Extraction.fail("empty output")
    cls = f"[{re.escape(letters)}]"
    stated = re.findall(rf"{_ANSWER_KEY}(?:option\s*)?[\(\[\*<\"']*({cls})(?![A-Za-z])", text, flags=re.I)
    stated = [s for s in stated if s in letters]  # "answer is a ..." (lower-case) is prose, not a letter
    if stated:
        return Extraction(stated[-1])
    # a leading letter counts only when marked as one ("C.", "(B)", "D:", "**A**", or alone): "A 45-year-old" is prose
    lead = re.match(rf"^[\(\[\*<\"'\s]*({cls})(?:[\)\]\*>\"'.:,]|$)", text)
    if lead:
        return Extraction(lead.group(1))
    if options:
        hits = {k for k, v in options.items() if k in letters and str(v).strip()
                and re.search(rf"(?<!\w){re.escape(str(v).strip().lower())}(?!\w)", text.lower())}
        if len(hits) == 1:
            return Extraction(hits.pop())
        if len(hits) > 1:
            return Extraction.fail(f"several options quoted ({', '.join(sorted(hits))})")
    return Extraction.fail("no option letter found")


def _label_pattern(labels: Sequence[str], aliases: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    canon = {lab.lower(): lab for lab in labels}
    canon.update({a.lower(): t for a, t in aliases.items()})
    alts = "|".join(re.escape(k) for k in sorted(canon, key=len, reverse=True))
    return alts, canon


def label(output: str, labels: Sequence[str], aliases: Mapping[str, str] | None = None) -> Extraction:
    """One label of `labels` (returned in its canonical spelling); `aliases` maps other spellings to a label."""
    text = str(output or "").strip()
    if not text:
        return Extraction.fail("empty output")
    alts, canon = _label_pattern(labels, aliases or {})
    low = text.lower()
    stated = re.findall(rf"{_ANSWER_KEY}[\(\[\*<\"'“]*({alts})(?!\w)", low)
    if stated:
        return Extraction(canon[stated[-1]])
    lead = re.match(rf"^[\(\[\*<\"'“\s]*({alts})(?!\w)", low)
    if lead:
        return Extraction(canon[lead.group(1)])
    found = {canon[m] for m in re.findall(rf"(?<!\w)({alts})(?!\w)", low)}
    if len(found) == 1:
        return Extraction(found.pop())
    if found:
        return Extraction.fail(f"several labels mentioned ({', '.join(sorted(found))})")
    return Extraction.fail("no label found")


def yes_no_maybe(output: str, labels: Sequence[str] = ("yes", "no", "maybe")) -> Extraction:
    """yes / no / maybe (or the subset given, e.g. yes/no)."""
    return label(output, labels)


def label_set(output: str, names: Mapping[str, Sequence[str]], codes: Mapping[str, str] | None = None,
              none_words: Sequence[str] = ("none", "no category")) -> Extraction:
    """A set of canonical labels. `names` maps each canonical label to the spellings that name it
    (the canonical label itself always counts); `codes` maps it to a short code (HoC "PS") that is
    recognised in parentheses — "(PS)" — or when the whole answer is a list of codes."""
    text = str(output or "").strip()
    if not text:
        return Extraction.fail("empty output")
    codes = dict(codes or {})
    low = text.lower()
    found: set[str] = set()
    for canon, spellings in names.items():
        forms = {canon, *spellings}
        code = codes.get(canon)
        if any(re.search(rf"(?<!\w){re.escape(f.lower())}(?!\w)", low) for f in forms if f) or (
                code and re.search(rf"\(\s*{re.escape(code)}\s*\)", text)):
            found.add(canon)
    if not found and codes:
        tokens = [t for t in re.split(r"[\s,;/]+", text.strip(" .\n")) if t]
        by_code = {code: canon for canon, code in codes.items() if code}
        if tokens and all(t in by_code for t in tokens):
            found = {by_code[t] for t in tokens}
    if found:
        return Extraction(frozenset(found))
    if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", low) for w in none_words):
        return Extraction(frozenset())
    return Extraction.fail("no label found")


_PLACEHOLDER = re.compile(r"^<?\s*recogni[sz]ed entities\s*>?$", re.I)


def _clean_entity(raw: str) -> str:
    ent = raw.strip().strip("<>").strip().strip("\"'“”`*").strip()
    ent = re.sub(r"\s*\((?:chemical|gene|disease|drug)s?\)\s*$", "", ent, flags=re.I)
    return ent.strip().rstrip(".").strip()


def entity_list(output: str) -> Extraction:
    """Entity strings from an "i | entities" answer (order kept, duplicates dropped)."""
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
    entities = list(dict.fromkeys(e for e in entities if e and e.lower() not in {"none", "n/a"}))
    if entities:
        return Extraction(tuple(entities))
    if re.search(r"^\s*\d+\s*\|\s*(?:<\s*>|none|)\s*$", text, flags=re.M | re.I):
        return Extraction(())  # an explicit empty answer
    return Extraction.fail("no 'i | entities' line found")


_TOKEN = re.compile(r"\w+|[^\w\s]")


def tag_entities(tokens: Sequence[str], entities: Sequence[str], entity_type: str = "Disease") -> list[str]:
    """IOB2 tags for `tokens` marking every occurrence of every entity string (case-insensitive,
    compared token by token after splitting both on word/punctuation boundaries, so "5-FU"
    matches the tokens "5 - FU"). Earlier entities win where occurrences overlap."""
    low = [t.lower() for t in tokens]
    pieces: list[list[str]] = []
    owner: list[int] = []
    for i, tok in enumerate(low):  # a corpus token may itself hold punctuation: split it the same way
        for piece in _TOKEN.findall(tok) or [tok]:
            pieces.append(piece)
            owner.append(i)
    tags = ["O"] * len(tokens)
    for ent in entities:
        seq = _TOKEN.findall(ent.lower())
        if not seq:
            continue
        n = len(seq)
        for start in range(len(pieces) - n + 1):
            if pieces[start:start + n] != seq:
                continue
            first, last = owner[start], owner[start + n - 1]
            if (start > 0 and owner[start - 1] == first) or (start + n < len(pieces) and owner[start + n] == last):
                continue  # would split a corpus token
            if any(tags[j] != "O" for j in range(first, last + 1)):
                continue
            tags[first] = f"B-{entity_type}"
            for j in range(first + 1, last + 1):
                tags[j] = f"I-{entity_type}"
    return tags


_IOB_TAG = re.compile(r"^(?:([BI])(?:\s*-\s*.*)?|O)$", re.I)


def iob_tags(output: str, tokens: Sequence[str], entity_type: str = "Disease") -> Extraction:
    """IOB2 tags for `tokens` from a "word<TAB>tag" answer, aligned left to right; unmatched tokens get O."""
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
    low = [t.lower() for t in tokens]
    tags = ["O"] * len(tokens)
    j = 0
    for word, tag in pairs:
        seq = [w.lower() for w in word.split()]
        for k in range(j, len(low) - len(seq) + 1):
            if low[k:k + len(seq)] == seq:
                if tag != "O":
                    tags[k] = f"{'I' if tag == 'I' and k > 0 and tags[k - 1] != 'O' else 'B'}-{entity_type}"
                    for x in range(k + 1, k + len(seq)):
                        tags[x] = f"I-{entity_type}"
                j = k + len(seq)
                break
    return Extraction(tags)


def drug_list(output: str, marker: str = "Final Answer:") -> Extraction:
    """Drug names after the last `marker` (case-insensitive), in order, duplicates dropped."""
    text = str(output or "")
    idx = text.lower().rfind(marker.lower())
    if idx < 0:
        return Extraction.fail(f"no {marker!r} in the output")
    body = text[idx + len(marker):]
    lines = [ln for ln in body.splitlines() if ln.strip()]
    if len(lines) >= 2:  # one drug per line: commas belong to names ("Insulin, Aspart, Human (Novolog)")
        parts = [p for ln in lines for p in ln.split(";")]
    else:
        parts = re.split(r",|;|\band\b", body)
    drugs = []
    for part in parts:
        item = re.sub(r"^\s*(?:[*•\-]|\d+[.)])\s*", "", part).strip().strip("*\"'`").strip().rstrip(".").strip()
        if item:
            drugs.append(item)
    drugs = list(dict.fromkeys(drugs))
    if not drugs:
        return Extraction.fail(f"nothing after {marker!r}")
    return Extraction(tuple(drugs))
