"""Option letter (multiple-choice QA): the answer is one option's letter; score = accuracy.

Reading rule (strict; a failure is scored wrong and counted, never guessed), in this order:
1. Explicit statements — "the answer is X", "Answer: (x)", "Correct answer: X", "**Answer:** C", "Final answer: b)",
   "The best choice would be (D)", or the same keys followed by one option's full text ("Answer: Lymphocytes").
   After such a key a lower-case letter counts when marked as a letter ("(d)", "b)", "c." or alone at the end).
   Every statement names the same option → that option; statements that disagree, or one statement naming two
   ("the answer is B or C"), → failure. A statement wins over every other mention ("Correct answer: C. Answer B
   is incorrect because …" → C). "Answer B" without "is"/":" is a mention, not a statement.
2. A leading letter — the answer opens with a letter marked as one: "C", "C.", "(B)", "D:", "**A**", "C - …",
   "(b)", "b)"; not "A 45-year-old …" (prose). It counts unless another option's letter is named elsewhere
   (marked, not negated) → failure; a negated one ("A: wrong") is not a leading answer.
3. Marked letters elsewhere — "(C)", "option C", "**C**", "C." opening a line or alone on a line, "answer C": exactly one option
   named this way (negated mentions — "not B", "B is incorrect", "rather than (A)" — do not count) → that one;
   several → failure. A bare capital inside prose ("… most likely has C") is not a marked letter: failure.
4. Option text — exactly one option's full text quoted (whole words, any case, not negated; a longer option
   text claims its words first; an option whose letter was named as wrong does not count) → that option;
   several → failure.
5. "None of the above/of these/of the options" (when it is not itself an option) or nothing → failure.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from clue.answers._text import ANSWER_STATEMENT, negated
from clue.answers.base import AnswerKind, Extraction, majority

_OPEN = r"(?P<open>[\(\[]?)"
_LEAD = re.compile(r"^[\s*_#>]*(?:(?:option|choice)\s+)?(?P<open>[\(\[]?)(?P<letter>[A-Za-z])(?P<close>[\)\]]?)"
                   r"(?P<after>\**\s*(?:[.:,]|\s[-–]\s|\s*$|\n)|\**$)", re.I)
_NONE_OF = re.compile(r"\bnone\s+of\s+(?:the\s+)?(?:above|these|options|choices|them)\b", re.I)


def _options(fields: Mapping[str, Any]) -> Mapping[str, str]:
    opts = fields.get("options")
    return {str(k): str(v) for k, v in opts.items()} if isinstance(opts, Mapping) else {}


class OptionLetter(AnswerKind):
    __doc__ = __doc__
    name = "option_letter"
    metrics = ("accuracy",)

    def __init__(self, letters: str = "ABCDE"):
        self.letters = letters  # used when an item's fields carry no `options` mapping (letter → text)
        self.labels = tuple(letters)

    def __repr__(self) -> str:
        return f"OptionLetter({self.letters!r})"

    def _letters(self, options: Mapping[str, str]) -> str:
        return "".join(options) if options else self.letters

    # --- reading ------------------------------------------------------------------------
    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        text = str(output or "").strip()
        if not text:
            return Extraction.fail("empty output")
        options = _options(fields)
        letters = self._letters(options)
        stated = self._statements(text, letters, options)
        if len(stated) == 1:
            return Extraction(stated.pop())
        if stated:
            return Extraction.fail(f"the answer statements name several options ({', '.join(sorted(stated))})")
        marked, rejected = self._marked(text, letters)
        lead = _LEAD.match(text)
        if lead and self._is_letter(lead.group("letter"), lead.group("open"), lead.group("close"), lead.group("after"), letters, True) \
                and not negated(text, lead.start("letter"), lead.end("letter")):
            first = lead.group("letter").upper()
            others = marked - {first}
            if others:
                return Extraction.fail(f"several options named ({', '.join(sorted(marked | {first}))})")
            return Extraction(first)
        if len(marked) == 1:
            return Extraction(marked.pop())
        if marked:
            return Extraction.fail(f"several options named ({', '.join(sorted(marked))})")
        quoted = self._quoted(text, options) - rejected  # an option named as wrong ("B is incorrect") is never read
        if len(quoted) == 1:
            return Extraction(quoted.pop())
        if quoted:
            return Extraction.fail(f"several options quoted ({', '.join(sorted(quoted))})")
        if _NONE_OF.search(text):
            return Extraction.fail("'none of the above' is not an option")
        return Extraction.fail("no option letter found")

    @staticmethod
    def _is_letter(letter: str, open_: str, close: str, after: str, letters: str, leading: bool = False) -> bool:
        if letter.upper() not in letters:
            return False
        if letter.isupper():
            return True
        # lower case only when marked as a letter: "(d)", "b)", "c." / "c:" or alone at the end
        return bool(open_ or close) or (not leading and after[:1] in (".", ":", "*", "")) or (leading and after.strip(" *") == "")

    def _statements(self, text: str, letters: str, options: Mapping[str, str]) -> set[str]:
        found: set[str] = set()
        for m in re.finditer(ANSWER_STATEMENT + r"(?:(?:option|choice|letter)\s*)?", text, flags=re.I):
            rest = text[m.end():]
            lm = re.match(r"(?P<open>[\(\[]?)(?P<letter>[A-Za-z])(?P<close>[\)\]]?)(?=(?P<after>.?))", rest, flags=re.S)
            if lm and not re.match(r"[\w'’-]", lm.group("after") if not lm.group("close") else "") and self._is_letter(
                    lm.group("letter"), lm.group("open"), lm.group("close"), lm.group("after"), letters):
                found.add(lm.group("letter").upper())
                more = re.match(r"\**\s*(?:,|/|\bor\b|\band\b|&)\s*(?:(?:option|choice)\s+)?[\(\[]?([A-Za-z])(?![\w'’-])",
                                rest[lm.end():], flags=re.I)
                if more and more.group(1).upper() in letters:
                    found.add(more.group(1).upper())  # "the answer is B or C": two options in one statement
                continue
            low = rest.lower()
            for key, value in sorted(options.items(), key=lambda kv: -len(kv[1])):
                v = value.strip().lower()
                if v and low.startswith(v) and not re.match(r"\w", low[len(v):len(v) + 1]):
                    found.add(key)
                    break
        return found

    @staticmethod
    def _marked(text: str, letters: str) -> tuple[set[str], set[str]]:
        """(letters named as options anywhere and not negated, letters named as options and negated)."""
        cls = f"[{re.escape(letters)}]"
        patterns = (rf"[\(\[]({cls})[\)\]]", rf"(?i:\b(?:option|choice|answer)s?)\s+[\(\[]?({cls})(?![\w'’-])",
                    rf"(?m:^[\s*_#>•-]*({cls})(?:[.):]|\*\*))", rf"\*\*({cls})\*\*", rf"(?m:^[\s*_#>•-]*({cls})[\s*.]*$)")
        found: set[str] = set()
        rejected: set[str] = set()
        for pat in patterns:
            for m in re.finditer(pat, text):
                (rejected if negated(text, m.start(), m.end()) else found).add(m.group(1))
        return found, rejected

    @staticmethod
    def _quoted(text: str, options: Mapping[str, str]) -> set[str]:
        low, taken, found = text.lower(), [False] * len(text), set()
        for key, value in sorted(options.items(), key=lambda kv: -len(kv[1].strip())):
            v = value.strip().lower()
            if not v:
                continue
            for m in re.finditer(rf"(?<!\w){re.escape(v)}(?!\w)", low):
                if any(taken[m.start():m.end()]):
                    continue
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
                if not negated(text, m.start(), m.end()):
                    found.add(key)
        return found

    # --- scoring ------------------------------------------------------------------------
    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        return {"accuracy": 100.0 if value is not None and value == gold else 0.0}

    def from_json(self, value: Any) -> Any:
        return str(value).strip().upper()

    def floor(self, golds: Sequence[Any], fields: Sequence[Mapping[str, Any]]) -> list[str]:
        """The majority gold letter of the scored items (ties: alphabetical), e.g. Pharmacology QA → always "B"."""
        return [str(majority(golds))] * len(golds)
