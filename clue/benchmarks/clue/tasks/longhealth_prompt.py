"""LongHealth prompt construction to a token budget (spec §4: `create_prompt`, `sample_distractions`).

Kept apart from the task module because it is the one place where tokens are counted. Two
counting rules (quirk Q11):

* ``original`` — as CLUE's `create_prompt`: every piece is counted with the tokenizer's special
  tokens (a BOS per piece), each accepted document is charged the *longer* "NEW DOCUMENT"
  separator although documents are joined with the shorter one, a document that does not fit is
  cut to the remaining tokens *including* its BOS and decoded with special tokens kept (so it
  starts with the BOS text) the way transformers' `decode` did in 2024, including its
  `clean_up_tokenization_spaces` step (" ." → "." and the like) when the model's tokenizer asked
  for it, and once the budget is reached the next document is appended as an empty string.
* ``exact`` — pieces are counted without special tokens, the separator actually used is charged,
  cuts drop special tokens, empty documents are never appended, and the finished prompt is
  re-counted (`refit`, batched by the task) and its last-selected document trimmed until system +
  user prompt fit the budget.

Token counts come from the evaluated model's `tokenizers.Tokenizer`. Without one (baseline engine,
`clue demo`) a deterministic word counter is used instead (one token per whitespace-separated
word, no special tokens); the task records which counter ran. Counters cache every text they
encode, so each document is encoded once per run however many prompts it appears in.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

_WORD = re.compile(r"\S+")


class TokenCounter:
    """Counts and cuts texts; `specials` says whether encodes add the tokenizer's special tokens."""

    kind: str = "abstract"

    def __init__(self, specials: bool) -> None:
        self.specials = specials
        self.encoded = 0  # number of texts actually encoded (cache misses), for the run record
        self._cache: dict[str, Any] = {}

    def _ids(self, text: str) -> Any:
        ids = self._cache.get(text)
        if ids is None:
            ids = self._encode(text)
            self._cache[text] = ids
            self.encoded += 1
        return ids

    def count(self, text: str) -> int:
        """Token count of `text` (cached: call it for texts that recur, such as documents)."""
        return len(self._ids(text))

    def count_once(self, text: str) -> int:
        """Token count of a text that will not recur (a finished prompt): not cached."""
        return len(self._encode(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Token counts of texts that will not recur (finished prompts), batched where the tokenizer can."""
        return [len(self._encode(t)) for t in texts]

    def cut(self, text: str, n: int) -> str:
        """The first `n` tokens of `text` as text ("" for n ≤ 0)."""
        raise NotImplementedError

    def _encode(self, text: str) -> Any:
        raise NotImplementedError


def clean_up_tokenization(text: str) -> str:
    """transformers' `PreTrainedTokenizerBase.clean_up_tokenization` (4.x): spaces before punctuation
    and English contractions removed, applied by `decode` when `clean_up_tokenization_spaces` is set."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(before, after)
    return text


class ModelCounter(TokenCounter):
    """The evaluated model's tokenizer (`tokenizers.Tokenizer`, or anything with encode/decode)."""

    kind = "model tokenizer"

    def __init__(self, tokenizer: Any, specials: bool, cleanup: bool = False) -> None:
        super().__init__(specials)
        self.tokenizer = tokenizer
        self.cleanup = cleanup

    def _encode(self, text: str) -> list[int]:
        out = self.tokenizer.encode(text, add_special_tokens=self.specials)
        return list(out.ids) if hasattr(out, "ids") else list(out)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        batch = getattr(self.tokenizer, "encode_batch", None)
        if batch is None:
            return super().count_many(texts)
        return [len(e.ids) for e in batch(list(texts), add_special_tokens=self.specials)]  # parallel in Rust

    def cut(self, text: str, n: int) -> str:
        if n <= 0:
            return ""
        # original: ids include the BOS and are decoded with special tokens kept (Q11)
        out = self.tokenizer.decode(self._ids(text)[:n], skip_special_tokens=not self.specials)
        return clean_up_tokenization(out) if self.cleanup else out


class WordCounter(TokenCounter):
    """Fallback without a model tokenizer: one token per whitespace-separated word, no specials.
    Cuts keep the original text (and its whitespace) up to the end of the n-th word."""

    kind = "word-count fallback"

    def _encode(self, text: str) -> list[int]:
        return [m.end() for m in _WORD.finditer(text)]  # end offset of each word

    def cut(self, text: str, n: int) -> str:
        if n <= 0:
            return ""
        ends = self._ids(text)
        return text if n >= len(ends) else text[: ends[n - 1]]


def make_counter(tokenizer: Any, rule: str, cleanup: bool = False) -> TokenCounter:
    """`cleanup`: apply transformers' decode clean-up to cut documents (the original rule only)."""
    specials = rule == "original"
    return WordCounter(specials) if tokenizer is None else ModelCounter(tokenizer, specials, cleanup and specials)


@dataclass(frozen=True)
class PromptText:
    """The fixed prompt pieces (rendered from `clue/benchmarks/clue/prompts/longhealth/`)."""

    fill: Callable[[str, str, str], str]  # (documents, question_text, options) -> user prompt
    separator: str  # joins the selected documents
    count_separator: str  # charged per document under the original rule (Q11)


@dataclass
class Built:
    """One user prompt and how it was made (for tests and the run record)."""

    prompt: str
    documents: list[str] = field(default_factory=list)  # after the shuffle
    cut: bool = False  # a document was cut to fit
    trimmed: int = 0  # exact rule: tokens trimmed after the final re-count
    last: int | None = None  # exact rule: index in `documents` of the last-selected document (trimmed first)


def option_block(options: Sequence[tuple[str, str]]) -> str:
    """One line per option: upper-case label, ': ', option text (spec §3.4)."""
    return "\n".join(f"{label.upper()}: {text}" for label, text in options)


def sample_distractions(other_texts: Sequence[str], rng: random.Random, n: int = 10) -> list[str]:
    """§4.2: `min(n, len)` documents of the other patients, drawn without replacement."""
    return rng.sample(list(other_texts), min(n, len(other_texts)))


def create_prompt(answer_docs: Sequence[str], other_docs: Sequence[str], question_text: str, options: str,
                  max_len: int, counter: TokenCounter, rng: random.Random, text: PromptText, rule: str) -> Built:
    """§4.1 with the Q11 counting rule; `max_len` is the budget minus the system prompt's tokens."""
    if rule == "original":
        return _original(answer_docs, other_docs, question_text, options, max_len, counter, rng, text)
    return _exact(answer_docs, other_docs, question_text, options, max_len, counter, rng, text)


def _original(answer_docs, other_docs, question_text, options, max_len, counter, rng, text) -> Built:
    len_sep = counter.count(text.count_separator)
    len_tpl = counter.count(text.fill("{documents}", "{question_text}", "{options}"))  # the unfilled template
    total = counter.count(question_text) + counter.count(options) + len_tpl
    selected: list[str] = []
    cut = False
    for docs in (answer_docs, other_docs):  # steps 4 and 5: the same rule, each stops at its first cut
        for doc in docs:
            n = counter.count(doc)
            if total + n <= max_len:
                selected.append(doc)
                total += n + len_sep
            else:
                selected.append(counter.cut(doc, max(max_len - total, 0)))  # may be "" (Q11)
                total = max_len
                cut = True
                break
    rng.shuffle(selected)
    return Built(text.fill(text.separator.join(selected), question_text, options), selected, cut)


def _exact(answer_docs, other_docs, question_text, options, max_len, counter, rng, text) -> Built:
    len_sep = counter.count(text.separator)
    total = counter.count(text.fill("", question_text, options))  # recurs for every repetition
    selected: list[str] = []
    cut = False
    for doc in [*answer_docs, *other_docs]:
        sep = len_sep if selected else 0
        n = counter.count(doc)
        if total + sep + n <= max_len:
            selected.append(doc)
            total += sep + n
            continue
        room = max_len - total - sep
        if room > 0:
            selected.append(counter.cut(doc, room))
        cut = True
        break
    order = list(range(len(selected)))
    rng.shuffle(order)  # shuffles like `selected` itself (same length, same draws); remembers the last-selected one
    documents = [selected[i] for i in order]
    last = order.index(len(selected) - 1) if selected else None
    return Built(text.fill(text.separator.join(documents), question_text, options), documents, cut, 0, last)


def refit(built: Built, question_text: str, options: str, max_len: int, counter: TokenCounter, text: PromptText,
          length: int) -> Built:
    """Exact rule: token merges across piece boundaries can add a few tokens, so a prompt whose
    re-count (`length`) runs over the budget has its last-selected document trimmed until it fits."""
    documents, last, trimmed, prompt = list(built.documents), built.last, built.trimmed, built.prompt
    for _ in range(8):
        over = length - max_len
        if over <= 0 or last is None:
            break
        shorter = counter.cut(documents[last], counter.count(documents[last]) - over)
        trimmed += over
        if shorter:
            documents[last] = shorter
        else:
            del documents[last]
            last = len(documents) - 1 if documents else None
        prompt = text.fill(text.separator.join(documents), question_text, options)
        length = counter.count_once(prompt)
    return Built(prompt, documents, True, trimmed, last)
