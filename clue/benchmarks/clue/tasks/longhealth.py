"""LongHealth: multiple-choice questions over long (fictional) patient records, tasks 1–3 (spec §3.4, §4).

Data: `benchmark_v5.json` of the public LongHealth repository — a JSON object mapping patient id →
{"texts": {text_id: document}, "questions": [{"question", "answer_a".."answer_e", "correct",
"answer_location": {text_id: {"start": [...], "end": [...]}}, …}], "name", "birthday", "diagnosis",
"canaray-string"}. Top-level entries that are not objects are skipped. Zero-shot (k = 0).

Each question becomes 15 evaluated samples (and one request each), in this order: task 1 for every
question (5 repetitions, the patient's answer documents first, then its other documents, options
A–E), then tasks 2/3 for every question (10 repetitions j = 0…9, 10 distractor documents of other
patients each; odd j = task 2 with the answer documents, even j = task 3 without, options A–F).
Sample ids: `<patient>/q<index>/t<task>/r<repetition>`. Prompts are cut to a token budget (8,140
minus the system prompt; tasks 2/3 the model's context under Q14) by `longhealth_prompt`.

Randomness (Q10): one `random.Random(seed)` (CPython's Mersenne Twister, as the original's global
RNG) is consumed in the order above: one `sample` per task-2/3 repetition, then one `shuffle` per
prompt. The seed is `--seed` when given, else the protocol's seed ('seeded'), else a fresh seed
from os.urandom ('unseeded', the v3 behaviour); it is recorded in the build record's `rng_seed` and
printed, so `--seed N` rebuilds an unseeded run's prompts exactly.

Scoring: the first "The correct answer is X:" (Q15) against the gold letter (Q12; task 3: "F");
per-sample `task<n>_acc` 0/100; task accuracies are plain means over each subtask's samples.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from clue.benchmarks.clue.protocol import ProtocolProfile
from clue.benchmarks.clue.tasks.base import ClueTask, clue_profile
from clue.benchmarks.clue.tasks.longhealth_prompt import PromptText, create_prompt, make_counter, option_block, refit, sample_distractions
from clue.benchmarks.clue.tasks.postprocess import phi_split
from clue.errors import ConfigError, DataError
from clue.metrics.aggregate import task_mean
from clue.tasks.base import BuildContext, Built, Split
from clue.tasks.fit import FIT_MARGIN
from clue.types import GenParams, Request, Sample

BUDGET = 8140  # run_LongHealth8k.sh --max_len
REPS_TASK1 = 5
REPS_TASK23 = 10
N_DISTRACTORS = 10
QUESTION_KEYS = ("question", "answer_a", "answer_b", "answer_c", "answer_d", "answer_e", "correct", "answer_location")
HINT = "(e.g., A, B, C, D, E)"
STRICT = re.compile(r"The correct answer is (\w):")
TOLERANT = re.compile(r"the correct answer is\s*:?\s*(?:option\s+)?[*_(\[]*\s*([a-f])\b", re.IGNORECASE)


def parse_answer(text: str, profile: ProtocolProfile) -> str | None:
    """Q15: the first strict match (case-sensitive, colon right after the letter), or a tolerant
    one (any case, optional ':' after "is", optional "option"/brackets/markdown, letter A–F)."""
    if profile.q15_longhealth_parser == "strict":
        match = STRICT.search(text)
        return match.group(1) if match else None
    match = TOLERANT.search(text)
    return match.group(1).upper() if match else None


def correct_letter(question: Mapping[str, Any], rule: str) -> str | None:
    """Q12: the option whose text contains `correct` — the last such key (TGI), the first (vLLM) — or
    the first option equal to it (corrected). Keys in JSON order, skipping non-`answer` and `…location`."""
    gold = str(question["correct"])
    letter = None
    for key, value in question.items():
        if not key.startswith("answer") or key.endswith("location"):
            continue
        hit = str(value).strip() == gold.strip() if rule == "exact" else gold in str(value)
        if hit:
            letter = key[-1].upper()
            if rule != "last_substring":
                break
    return letter


# LongHealth ids carry subtask / repetition suffixes; everything up to the question is the cluster.
_REPETITION_SUFFIX = re.compile(r"(?:[/#:|_.-](?:t|task|r|rep|repetition|subtask)?\d+)+$", re.IGNORECASE)


class LongHealth(ClueTask):
    name = "longhealth"
    title = "LongHealth"
    files = ("benchmark_v5.json",)
    source = "https://raw.githubusercontent.com/kbressem/LongHealth/main/data/benchmark_v5.json (public)"
    credentialed = False
    metrics = ("task1_acc", "task2_acc", "task3_acc")
    k = 0
    max_new_tokens = {"tgi": 50, "vllm": 50}
    double_count_first = {"tgi": False, "vllm": False}  # plain counters in both eras (§2.7.4)
    needs_tokenizer = True
    budget = BUDGET

    # --- data ---------------------------------------------------------------------------
    def load(self, data_dir: Path) -> list[Sample]:
        path = self.path(data_dir)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{path} is not valid JSON ({exc})", f"re-download it from {self.source}") from None
        if not isinstance(data, dict):
            raise DataError(f"{path} is not a JSON object of patients", f"expected benchmark_v5.json from {self.source}")
        patients = {pid: p for pid, p in data.items() if isinstance(p, dict)}  # skips e.g. a top-level canary string
        if not patients:
            raise DataError(f"{path} holds no patient objects", f"expected benchmark_v5.json from {self.source}")
        for pid, patient in patients.items():
            self._check_patient(path, pid, patient)
        samples = []
        for pid, patient in patients.items():
            others = tuple(str(t) for other, p in patients.items() if other != pid for t in p["texts"].values())
            for i, question in enumerate(patient["questions"]):
                fields = {"patient_id": pid, "question_index": i, "question": question, "texts": patient["texts"],
                          "other_texts": others}
                samples.append(Sample(id=f"{pid}/q{i}", fields=fields, reference=str(question["correct"])))
        return samples

    def _check_patient(self, path: Path, pid: str, patient: Mapping[str, Any]) -> None:
        fix = f"expected the LongHealth release from {self.source}"
        for key, kind in (("texts", dict), ("questions", list)):
            if not isinstance(patient.get(key), kind):
                raise DataError(f"{path}: patient {pid!r} lacks {kind.__name__} field {key!r}", fix)
        for i, q in enumerate(patient["questions"]):
            missing = [k for k in QUESTION_KEYS if not isinstance(q, dict) or k not in q]
            if missing:
                raise DataError(f"{path}: patient {pid!r} question {i} lacks field(s) {', '.join(missing)}", fix)
            if not isinstance(q["answer_location"], dict):
                raise DataError(f"{path}: patient {pid!r} question {i}: 'answer_location' is not an object", fix)
            unknown = [t for t in q["answer_location"] if t not in patient["texts"]]
            if unknown:
                raise DataError(f"{path}: patient {pid!r} question {i}: answer_location names unknown text(s) "
                                f"{', '.join(unknown)}", fix)

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        """Bundled records are one patient per line with its top-level key under "patient_id"."""
        data = {r["patient_id"]: {k: v for k, v in r.items() if k != "patient_id"} for r in records}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    # --- evaluation units ---------------------------------------------------------------
    def split(self, samples: Sequence[Sample], profile: ProtocolProfile, shots: int | None = None,
              pool: Sequence[Sample] | None = None, seeds: Sequence[int] | None = None) -> Split:
        """No shots; every question expands into its task-1, then (after all questions) task-2/3 samples."""
        if shots:
            raise ConfigError(f"CLUE's {self.title} is zero-shot (--shots {shots})", "leave --shots out for CLUE tasks")
        option_f = self.render("option_f")
        evaluated = []
        for q in samples:
            question = q.fields["question"]
            options = tuple((label, str(question[f"answer_{label}"])) for label in "abcde")
            gold = correct_letter(question, profile.q12_longhealth_key) or ""
            for rep in range(REPS_TASK1):
                evaluated.append(self._unit(q, 1, rep, options, gold))
        for q in samples:
            question = {**q.fields["question"], "answer_f": option_f}  # as the original, before tasks 2/3
            options = tuple((label, str(question[f"answer_{label}"])) for label in "abcdef")
            gold = correct_letter(question, profile.q12_longhealth_key) or ""
            for j in range(REPS_TASK23):
                evaluated.append(self._unit(q, 2 if j % 2 else 3, j, options, "F" if j % 2 == 0 else gold))
        if not evaluated:
            raise DataError(f"{self.title} has no questions", "check the data file")
        return Split(shots=[], evaluated=evaluated)

    @staticmethod
    def _unit(q: Sample, subtask: int, rep: int, options: tuple, gold: str) -> Sample:
        fields = {**q.fields, "subtask": subtask, "repetition": rep, "options": options}
        return Sample(id=f"{q.id}/t{subtask}/r{rep}", fields=fields, reference=gold)

    # --- requests -----------------------------------------------------------------------
    def _rng_seed(self, ctx: BuildContext) -> tuple[int, str]:
        if ctx.seed is not None:
            return ctx.seed, "--seed"
        if clue_profile(ctx).q10_longhealth_rng == "seeded":
            seed = clue_profile(ctx).seed
            return (seed if seed is not None else 0), "protocol seed"
        if ctx.draw_seed is not None:  # drawn once per run directory, so re-running an interrupted run resumes
            return ctx.draw_seed, "fresh from os.urandom (Q10 unseeded), kept in the run directory's draw_seed.json"
        return int.from_bytes(os.urandom(4), "big"), "fresh from os.urandom (Q10 unseeded)"

    def _budgets(self, ctx: BuildContext, fallback: bool) -> tuple[int, int, str | None]:
        """(task-1 budget, task-2/3 budget, note) in tokens, before the system prompt is subtracted."""
        if not clue_profile(ctx).q14_longhealth_t23_full_context:
            return self.budget, self.budget, None
        if ctx.max_position_embeddings:
            return self.budget, ctx.max_position_embeddings, None
        if fallback:
            return self.budget, self.budget, "model context unknown: tasks 2/3 use the 8,140 budget (Q14 not applied)"
        raise ConfigError("LongHealth tasks 2/3 under this protocol need the model's context length (Q14)",
                          "pass --max-position-embeddings N (the server's max_model_len)")

    @staticmethod
    def _decode_cleanup(ctx: BuildContext) -> tuple[bool, str, str | None]:
        """(clean-up on?, where that came from, a note when it was assumed): whether cut documents get
        transformers' decode clean-up (original rule, Q11). The model's tokenizer_config decides; unset,
        the TGI era (transformers 4.39.3) used the default of the loaded tokenizer class (LlamaTokenizerFast:
        False; most others True — clue/tokenizer_defaults.py), the vLLM era (≥ 4.45) False."""
        if clue_profile(ctx).q11_longhealth_budget != "original" or ctx.tokenizer is None:
            return False, "not applicable", None
        if ctx.decode_cleanup is not None:
            return ctx.decode_cleanup, "tokenizer_config.json", None
        if clue_profile(ctx).era == "tgi" and ctx.tokenizer_class:  # transformers 4.39.3: the default of the loaded class
            from clue.tokenizer_defaults import cleanup_default_4_39_3, loaded_class

            default = cleanup_default_4_39_3(ctx.tokenizer_class)
            return bool(default), f"unset; the default of {loaded_class(ctx.tokenizer_class)} in transformers 4.39.3", None
        era_default = clue_profile(ctx).era == "tgi"
        source = f"tokenizer_config.json did not say; transformers' {'2024' if era_default else '2025'} default"
        note = (f"cut documents decoded with clean-up {'on' if era_default else 'off'} ({source}); "
                "pass the model's tokenizer_config.json with --chat-template to be sure")
        return era_default, source, note

    def _context_cap(self, ctx: BuildContext, system: str, fallback: bool) -> tuple[int, int] | None:
        """Corrected Q8 (no server-side truncate): (T = max_position_embeddings − 50, the largest budget
        whose prompts, chat-template tokens included, stay within T). None when not applicable."""
        limit = self.context_limit(ctx)
        if clue_profile(ctx).q8_truncate != "cut_document" or limit is None or fallback:
            return None
        shell, _ = self._assemble(system, "", ctx)
        assert shell is not None
        overhead = len(ctx.tokenizer.encode(shell).ids) - len(ctx.tokenizer.encode(system).ids)  # template tokens
        return limit, limit - max(overhead, 0) - FIT_MARGIN

    def _params(self, ctx: BuildContext, subtask: int) -> GenParams:
        profile = clue_profile(ctx)
        plain = subtask != 1 and profile.q13_longhealth_t23_plain
        truncate = self.context_limit(ctx) if not plain and profile.q8_truncate == "keep_last" else None
        return GenParams(
            max_new_tokens=self.max_new_tokens[profile.era],
            stop=() if plain else profile.stop_for(ctx.endpoint.model),
            temperature=ctx.temperature if ctx.temperature is not None else profile.q22_temperature,
            seed=ctx.seed if ctx.seed is not None else profile.seed,
            truncate=truncate,
        )

    def _assemble(self, system: str, user: str, ctx: BuildContext) -> tuple[str | None, tuple | None]:
        """§3.4: [system, user] / [user(S + prompt)] / base string S + "\\n\\n\\n" + prompt; nothing appended."""
        if ctx.mode == "base":
            if ctx.send != "prompt":
                raise ConfigError("base-model prompts need a route that takes the rendered prompt",
                                  "use --engine tgi, or --route completions with openai, or an instruct --mode")
            return system + "\n\n\n" + user, None
        if ctx.mode == "instruct":
            msgs = [{"role": "user", "content": system + user}]
        else:
            msgs = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if ctx.send != "prompt":
            return None, tuple(msgs)
        if ctx.chat_template is None:
            raise ConfigError("the tgi engine needs the model's chat template", "pass --chat-template FILE or --mode base")
        return ctx.chat_template.render(msgs, add_generation_prompt=True, strip_bos=not clue_profile(ctx).q9_double_bos), None

    def _prompt_text(self, hint_with_f: bool) -> PromptText:
        def fill(documents: str, question_text: str, options: str) -> str:
            user = self.render("user", {"documents": documents, "question_text": question_text, "options": options})
            return user.replace(HINT, "(e.g., A, B, C, D, E, F)") if hint_with_f else user

        return PromptText(fill, self.render("separator"), self.render("count_separator"))

    def build(self, split: Split, ctx: BuildContext) -> Built:
        profile = clue_profile(ctx)
        rule = profile.q11_longhealth_budget
        cleanup, cleanup_source, cleanup_note = self._decode_cleanup(ctx)
        counter = make_counter(ctx.tokenizer, rule, cleanup)
        fallback = ctx.tokenizer is None
        seed, seed_source = self._rng_seed(ctx)
        rng = random.Random(seed)
        system = self.render("system")
        texts = {1: self._prompt_text(False), 2: self._prompt_text(not profile.q16_option_hint_a_to_e)}
        budget1, budget23, budget_note = self._budgets(ctx, fallback)
        fit = self._context_cap(ctx, system, fallback)
        if fit is not None:  # corrected Q8: the documents make room, not the instructions
            budget1, budget23 = min(budget1, fit[1]), min(budget23, fit[1])
        notes = [n for n in (budget_note, cleanup_note) if n]
        len_sys = counter.count(system)
        built = []  # pass 1, in sample order (the RNG's order): the user prompts
        for sample in split.evaluated:
            f = sample.fields
            subtask, question = f["subtask"], f["question"]
            answer_docs = [f["texts"][t] for t in question["answer_location"]]
            if subtask == 1:
                others, budget = [t for tid, t in f["texts"].items() if tid not in question["answer_location"]], budget1
            else:
                others, budget = sample_distractions(f["other_texts"], rng, N_DISTRACTORS), budget23
                answer_docs = answer_docs if subtask == 2 else []
            args = (str(question["question"]), option_block(f["options"]), budget - len_sys)
            text = texts[min(subtask, 2)]
            built.append((create_prompt([str(d) for d in answer_docs], [str(d) for d in others], *args, counter, rng,
                                        text, rule), args, text))
        if rule == "exact":  # pass 2: re-count the finished prompts (batched) and trim the few that run over
            for i, length in enumerate(counter.count_many([b.prompt for b, _, _ in built])):
                b, args, text = built[i]
                if length > args[2]:
                    built[i] = (refit(b, *args, counter, text, length), args, text)
        params = {n: self._params(ctx, n) for n in (1, 2, 3)}
        requests = []
        for sample, (b, _, _) in zip(split.evaluated, built):
            prompt, messages = self._assemble(system, b.prompt, ctx)
            requests.append(Request(task=self.name, sample_id=sample.id, params=params[sample.fields["subtask"]],
                                    protocol=profile.name, endpoint=ctx.endpoint, prompt=prompt, messages=messages))
        cut, trimmed = sum(b.cut for b, _, _ in built), sum(b.trimmed for b, _, _ in built)
        no_gold = sorted({s.id.rsplit("/", 2)[0] for s in split.evaluated if not s.reference})
        record: dict[str, Any] = {
            "rng": profile.q10_longhealth_rng, "rng_seed": seed, "rng_seed_source": seed_source,
            "token_counter": counter.kind, "budget_rule": rule, "budget_task1": budget1, "budget_task23": budget23,
            "decode_cleanup": cleanup, "decode_cleanup_source": cleanup_source,
            "system_prompt_tokens": len_sys, "prompts": len(requests), "prompts_with_cut_documents": cut,
            "tokens_trimmed_after_recount": trimmed, "texts_encoded": counter.encoded,
            "questions_without_gold_option": no_gold, "notes": notes,
        }
        if fit is not None:
            limit, cap = fit
            lengths = [len(e.ids) for e in ctx.tokenizer.encode_batch([r.prompt for r in requests])]
            record.update(q8="cut_document", context_cap=cap, prompt_token_limit=limit,
                                   longest_prompt_tokens=max(lengths, default=0),
                                   prompts_over_limit=sum(n > limit for n in lengths))
        self._notes(seed, seed_source, fallback, notes, no_gold)
        return Built(requests, record)

    def _notes(self, seed: int, source: str, fallback: bool, notes: list[str], no_gold: list[str]) -> None:
        lines = [f"LongHealth documents drawn with seed {seed} ({source})"
                 + (f"; pass --seed {seed} to rebuild the same prompts" if source.startswith("fresh") else "")]
        if fallback:
            lines.append("LongHealth budget counted in words (no model tokenizer; word-count fallback)")
        lines += [f"LongHealth {note}" for note in notes]
        if no_gold:
            lines.append(f"LongHealth: no option matches 'correct' in {len(no_gold)} question(s), always scored wrong: "
                         + ", ".join(no_gold[:5]) + (" …" if len(no_gold) > 5 else ""))
        for line in lines:
            print(f"clue: note: {line}", file=sys.stderr)

    def cluster(self, sample_id: str) -> str:
        """Bootstrap cluster: the question, i.e. the id without its subtask/repetition suffixes."""
        return _REPETITION_SUFFIX.sub("", sample_id) or sample_id

    def decodes_cut_documents(self, profile: ProtocolProfile) -> bool:
        """The original budget rule decodes cut documents (Q11): the model's clean-up flag matters."""
        return profile.q11_longhealth_budget == "original"

    def truncate(self, max_position_embeddings: int) -> int | None:
        return max_position_embeddings - 50  # task 1 only (tasks 2/3: Q13)

    # --- outputs ------------------------------------------------------------------------
    def postprocess(self, text: str, profile: ProtocolProfile, model: str) -> str:
        """TGI era, task 1: the Phi split only (no self-prompt regex for LongHealth, §2.6)."""
        return phi_split(text, profile, model)

    def postprocess_sample(self, text: str, sample: Sample, profile: ProtocolProfile, model: str) -> str:
        """Per subtask: tasks 2/3 get no Phi split under Q13; the vLLM era scores raw text."""
        if profile.era != "tgi":
            return text
        if sample.fields.get("subtask", 1) != 1 and profile.q13_longhealth_t23_plain:
            return text
        return self.postprocess(text, profile, model)

    def score(self, output: str, sample: Sample, profile: ProtocolProfile) -> dict[str, float]:
        """Correct iff the parsed letter equals the gold letter (task 3: "F"); no gold option → wrong."""
        letter = parse_answer(output, profile)
        right = bool(sample.reference) and letter == sample.reference
        return {f"task{sample.fields['subtask']}_acc": 100.0 if right else 0.0}

    def aggregate(self, per_sample: Sequence[Mapping[str, float]], profile: ProtocolProfile) -> dict[str, float | None]:
        """Plain accuracy per subtask over that subtask's scored samples (no Q1, no Q23)."""
        return {m: task_mean([s[m] for s in per_sample if m in s]) for m in self.metrics}

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Baseline rule: the longest option text among those offered (A–E; A–F in tasks 2/3),
        ties to the earliest letter, answered as "The correct answer is X: <text>"."""
        options = sample.fields["options"]
        label, text = max(options, key=lambda o: (len(o[1]), -ord(o[0][0])))
        return f"The correct answer is {label.upper()}: {text}"
