"""CLUE's protocol profiles (`ClueProfile`, extending the kit's `RunProtocol`): the whole
prompt/generation/scoring contract of one era, as data.

A profile is one frozen, documented object (in the spirit of HELM's AdapterSpec). Code reads
its switches; it never branches on a profile's *name*. Every quirk of
shared/spec/clue-protocol.md §6 is a field named `q<N>_<what>`, so a reader can look it up.

Per-task numbers of an era (max new tokens, k, truncate formula, BERTScore model, whether the
era's code double-counted that task's first sample) live with each task, keyed by `era`,
because the spec gives them per task. Profiles say which era and which quirks apply.
Switches that only concern dataset construction (Q19–Q21, Q27, Q28) are recorded for the
record; evaluation never reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from clue.errors import ConfigError
from clue.protocol import RunProtocol, Truncation

LLAMA3_STOP = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|im_end|>")
# Corrected profile: stop at the usual end-of-turn / next-turn markers for every model (TGI allows 4).
GENERIC_STOP = ("<|eot_id|>", "<|im_end|>", "<|end|>", "[INST]")


def is_llama3(model: str) -> bool:
    name = model.lower()
    return "llama-3" in name or "llama3" in name


@dataclass(frozen=True)
class ProtocolProfile(RunProtocol):
    """One evaluation protocol. The string under each field documents it (`clue protocols --show`)."""

    name: str
    "Profile id used on the command line and in the response cache key."
    description: str
    "One paragraph: which code/commit this profile follows and how it differs from the others."
    era: Literal["tgi", "vllm"]
    "Selects each task's era-specific numbers (max new tokens, BERTScore model, averaging) and prompt files."
    generation_prefix: bool
    "Append the task's answer prefix (e.g. 'Question: ') right after the rendered generation prompt (TGI era)."
    fewshot_shuffle_seed: int | None
    "None: shots are the first k items in file order; an int: CPython random.seed(n) then shuffle first (vLLM era)."
    seed: int | None = None
    "Sampling seed sent to the server when sampling, and the seed of the kit's own RNG uses (recorded in the run)."
    q1_double_count_first: Literal["off", "era"] = "off"
    "Q1: 'era' counts the first evaluated sample twice, (s1 + Σ s_i)/(N + 1), in the tasks where that era's code did."
    q2_problemsummary_semicolons: Literal["keep", "strip_trailing"] = "keep"
    ("Q2: 'keep' replaces every ';' of a ProblemSummary reference by ', ' (trailing-';' removal was a no-op); "
     "'strip_trailing' drops a trailing ';' first.")
    q3_medisumqa_prefix: bool = True
    "Q3: MeDiSumQA generation prefix 'Answer: ' (the committed b01cbcf code crashed on a wrong field name; this is the pre-fdb4ec7 behaviour)."
    q4_mednli_rule: Literal["exactly_one", "first_label"] = "exactly_one"
    "Q4: MedNLI correct iff the gold label occurs exactly once (case-insensitive) in the output; 'first_label' scores the first label mentioned."
    q5_self_prompt_regex: Literal["off", "line", "cut_all"] = "off"
    "Q5: delete '(You are an AI.*)|(\\[INST\\].*)|((<\\|user\\|>).*)' matches per line (v3), or cut everything from the first marker (corrected)."
    q6_stop: Literal["none", "llama3_names", "all_models"] = "none"
    "Q6: stop strings only when the model id contains 'llama-3'/'llama3' (v3), or end-of-turn markers for every model (corrected)."
    q7_phi_split: Literal["off", "phi_names", "generic"] = "off"
    "Q7: cut at ' <|end|>' only for model ids containing 'phi' (v3), or at any end-of-turn token (corrected)."
    q8_truncate: Literal["off", "keep_last", "cut_document"] = "off"
    ("Q8: T from the task's formula and max_position_embeddings (TGI route). 'keep_last' passes TGI's `truncate` "
     "(the server keeps the LAST T prompt tokens: instructions go first); 'cut_document' cuts the end of the evaluated "
     "document client-side until the prompt has ≤ T tokens.")
    q9_double_bos: bool = True
    ("Q9: send the rendered template with its BOS text; the server adds another BOS (as v3 did). False strips the "
     "template's leading BOS text where the server adds that same token (llama.cpp and vLLM are asked).")
    q10_longhealth_rng: Literal["unseeded", "seeded"] = "seeded"
    ("Q10: LongHealth document order/distractors: 'unseeded' draws a fresh seed per run (v3 behaviour; the seed is still recorded), "
     "'seeded' uses `seed`.")
    q11_longhealth_budget: Literal["original", "exact"] = "original"
    "Q11: LongHealth token budget counted as create_prompt did (longer separator, BOS per piece, may cut answer docs) or exactly."
    q12_longhealth_key: Literal["last_substring", "first_substring", "exact"] = "last_substring"
    "Q12: which option is the correct letter: last option containing the answer text (TGI), first (vLLM), or exact equality."
    q13_longhealth_t23_plain: bool = True
    "Q13: LongHealth tasks 2/3 get no truncate, no stop strings and no Phi split (TGI era); False treats them like task 1."
    q14_longhealth_t23_full_context: bool = False
    "Q14: LongHealth tasks 2/3 budget = the model's full context instead of 8,140 tokens (vLLM era)."
    q15_longhealth_parser: Literal["strict", "tolerant"] = "strict"
    "Q15: 'strict' = case-sensitive 'The correct answer is X:' first match; 'tolerant' also accepts ':' after 'is' and lower-case letters."
    q16_option_hint_a_to_e: bool = True
    "Q16: the LongHealth instruction says '(e.g., A, B, C, D, E)' even when option F exists (benchmark data; kept in every profile)."
    q17_icd_multiset: bool = True
    "Q17: ICD exact-match P/R over lists with multiplicity and empty gold → [''] (v3); False: set-based, empty gold skipped."
    q18_icd_regex: Literal["original", "broad"] = "original"
    "Q18: ICD code parser: the original regex (no U codes, upper-case, ≤4 chars after the category) or a broader one."
    q19_lenient_loaders: bool = True
    "Q19: loaders accept JSON arrays and JSON Lines and both field spellings (the released files differ from what the code read)."
    q20_qa_selection: Literal["lowest_alternating"] = "lowest_alternating"
    "Q20: MeDiSumQA construction kept the lowest-similarity QA pairs, alternating two sorted lists (dataset construction only)."
    q21_qa_parser_needs_newline: bool = True
    "Q21: MeDiSumQA construction's QA parser needed a newline after every answer (dataset construction only)."
    q22_temperature: float | None = None
    "Q22: None = greedy decoding. The vLLM era sampled at temperature 1.0; a number here turns sampling on."
    q23_two_decimals: bool = False
    "Q23: task means rounded to two decimals of the [0,1] value, as the vLLM era wrote MeQSum/ProblemSummary/MeDiSumQA."
    q24_bertscore_truncate_512: bool = False
    "Q24: truncate BERTScore inputs to 512 word-pieces (the 2024 fork did not; over-long inputs failed)."
    q25_problemsummary_bertscore_lowercase: bool = False
    "Q25: ProblemSummary BERTScore on lower-cased text although the model is cased (TGI era)."
    q26_shots_from_test: bool = True
    "Q26: few-shot examples are the first k items of the test file and are excluded from evaluation (every era)."
    q27_collect_results_x100: bool = False
    "Q27: collect_results.py multiplied LongHealth's percentages by 100 again; never reproduced (tables come from scores.json)."
    q28_raw_download_urls: bool = True
    "Q28: fetch the raw MeQSum/LongHealth files (the original script fetched GitHub HTML pages)."
    q29_base_layout: Literal["b01cbcf", "7a16b0f"] = "b01cbcf"
    "Q29: base-model prompt starts with the system prompt (b01cbcf) or without it (7a16b0f on main)."

    def switches(self) -> dict[str, object]:
        """Every field and its value, for run records and `clue protocols --show`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # --- the generic run protocol (clue/protocol.py), read from the quirk switches -----------------
    @property
    def temperature(self) -> float | None:
        return self.q22_temperature

    @property
    def truncation(self) -> Truncation:
        return self.q8_truncate

    @property
    def double_bos(self) -> bool:
        return self.q9_double_bos

    @property
    def prefill(self) -> bool:
        return self.generation_prefix

    @property
    def shot_seed(self) -> int | None:
        return self.fewshot_shuffle_seed

    def stop_for(self, model: str) -> tuple[str, ...]:
        """Q6: which stop strings a request carries."""
        if self.q6_stop == "llama3_names":
            return LLAMA3_STOP if is_llama3(model) else ()
        if self.q6_stop == "all_models":
            return GENERIC_STOP
        return ()

    def run_notes(self, temperature: float | None) -> list[str]:
        if self.q22_temperature is None and self.era == "vllm" and temperature is None:
            return ["the clue-2025 era sampled at temperature 1.0; this run is greedy (pass --temperature 1 for the era's behaviour)"]
        return []


ClueProfile = ProtocolProfile  # CLUE's name for it; the kit's generic type is clue.protocol.RunProtocol


def field_docs() -> dict[str, str]:
    """The docstring under every field, read from this module's source."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(ProtocolProfile))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)):
            docs[node.target.id] = str(nxt.value.value)
    return docs


CLUE_V3 = ProtocolProfile(
    name="clue-v3",
    description=(
        "TGI era, commit b01cbcf (2024-06-26): the code that produced the published v3 numbers, quirks "
        "included. Greedy decoding, answer prefixes appended after the rendered chat template."
    ),
    era="tgi",
    generation_prefix=True,
    fewshot_shuffle_seed=None,
    q1_double_count_first="era",
    q5_self_prompt_regex="line",
    q6_stop="llama3_names",
    q7_phi_split="phi_names",
    q8_truncate="keep_last",
    q10_longhealth_rng="unseeded",
    q25_problemsummary_bertscore_lowercase=True,
)

CLUE_2025 = ProtocolProfile(
    name="clue-2025",
    description=(
        "vLLM era, commit 2de4314 (2025-01-17): shuffled data (seed 1), no answer prefixes, 512 new tokens, "
        "no post-processing, SciBERT for BERTScore. The era sampled at temperature 1.0; this profile "
        "defaults to greedy and warns: pass --temperature 1 for the era's behaviour."
    ),
    era="vllm",
    generation_prefix=False,
    fewshot_shuffle_seed=1,
    seed=0,
    q1_double_count_first="era",
    q12_longhealth_key="first_substring",
    q13_longhealth_t23_plain=False,
    q14_longhealth_t23_full_context=True,
    q23_two_decimals=True,
)

CORRECTED = replace(
    CLUE_V3,
    name="corrected",
    description=(
        "v3 prompts with every quirk fixed: plain means, stop strings for every model, generic end-token "
        "cleaning, single BOS, over-long documents cut at their end instead of the prompt's start, exact "
        "LongHealth budgets and keys, set-based ICD scores, BERTScore on original case truncated to 512 word-pieces."
    ),
    seed=0,
    q1_double_count_first="off",
    q2_problemsummary_semicolons="strip_trailing",
    q4_mednli_rule="first_label",
    q5_self_prompt_regex="cut_all",
    q6_stop="all_models",
    q7_phi_split="generic",
    q8_truncate="cut_document",
    q9_double_bos=False,
    q10_longhealth_rng="seeded",
    q11_longhealth_budget="exact",
    q12_longhealth_key="exact",
    q13_longhealth_t23_plain=False,
    q15_longhealth_parser="tolerant",
    q17_icd_multiset=False,
    q18_icd_regex="broad",
    q24_bertscore_truncate_512=True,
    q25_problemsummary_bertscore_lowercase=False,
)

PROFILES: dict[str, ProtocolProfile] = {p.name: p for p in (CLUE_V3, CLUE_2025, CORRECTED)}


def get_profile(name: str) -> ProtocolProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"unknown protocol {name!r}", f"choose one of: {', '.join(PROFILES)} (see `clue protocols`)"
        ) from None
