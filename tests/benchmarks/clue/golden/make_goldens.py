"""Build the golden first requests of every CLUE task × protocol profile × conversation mode.

The goldens are composed here from the spec's verbatim JSON string literals (SPEC below, copied
from shared/spec/clue-protocol.md; `tests/benchmarks/clue/test_goldens.py` checks each still occurs in the spec)
and the assembly rules of spec §2.2 (TGI era), §2.3 (vLLM era), §3.x and §4.1. This script
deliberately imports nothing from `clue`, so a drifting prompt template, assembly or ordering
makes the golden test fail instead of regenerating itself.

    python tests/benchmarks/clue/golden/make_goldens.py            # rewrite tests/benchmarks/clue/golden/<task>/*
    python tests/benchmarks/clue/golden/make_goldens.py --check    # exit 1 if a file would change

Files per task (`meqsum` = the real public MeQSum xlsx from ../shared/data/meqsum, CC BY 4.0,
skipped when absent; `meqsum-synthetic` and the other tasks = the bundled synthetic samples):

* `<profile>-<mode>.txt`  the prompt sent on TGI's native route: the Llama-3 (mid-2024) chat
  template written out by hand (BOS on the first turn, each content `trim`med, generation
  prompt) plus the generation prefix, or the plain base-model string (§2.2 case 3).
* `<profile>-<mode>.json` the OpenAI-compatible messages of the same request (null for base
  models, which have no messages form) and the generation parameters of both routes for
  model "meta-llama/Meta-Llama-3-8B-Instruct" with max_position_embeddings 8192.

Profile rules used (spec §0.1, §2, §5, §6): clue-v3 = TGI era b01cbcf with its quirks;
clue-2025 = vLLM era (seed-1 shuffle, vLLM assistant/user templates, no prefix, no truncate, no
stop strings, 512 tokens); corrected = v3 prompts with Q2 fixed (trailing ';' dropped before
';' -> ', '), Q8 fixed (no server-side `truncate`: an over-long document is cut client-side, which
these short first items never need) and Q9 fixed (the template's BOS text is not sent; the server
adds the only BOS).
Kit choices the spec leaves open, marked KIT below: the corrected profile's stop strings (Q6
"end-of-turn markers for every model"), the vLLM era's base-model and no-system layouts (that
era had neither; the kit uses the §2.2 layouts with the era's templates), and LongHealth's seed
(the v3 code was unseeded, Q10; goldens use seed 0 = `random.seed(0)`, the seeded profiles'
protocol seed, and `--seed 0` for clue-v3).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
SYNTHETIC = ROOT / "clue" / "benchmarks" / "clue" / "synthetic"
REAL_MEQSUM = ROOT.parent / "shared" / "data" / "meqsum" / "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"

# JSON string literals, verbatim from shared/spec/clue-protocol.md (authoritative for whitespace).
SPEC = {
    "llama3_stop": r'''["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|im_end|>"]''',
    "mednli.system": r'''"You are a highly skilled assistant, specifically trained to assist medical professionals. You will recieve two '''
                     r'''sentences, labeled 'SENTENCE_1' and 'SENTENCE_2', respectively. Your task is to determine the logical relation between '''
                     r'''the two sentences. Valid answers are: ENTAILMENT, NEUTRAL or CONTRADICTION."''',
    "mednli.user": r'''"\nSENTENCE_1: {sentence1}\nSENTENCE_2: {sentence2}\n"''',
    "mednli.assistant": r'''"{gold_label}"''',
    "meqsum.system": r'''"You are a highly skilled assistant, specifically trained to assist patients. Your primary responsibility will be to '''
                     r'''summarize patient inquiries as concise question. You will be given such a patient inquiry. You will be expected to '''
                     r'''summarize and rewrite the inquiry as a concise question. Only write out the question. Do not add any other text."''',
    "meqsum.user": r'''"--------------PATIENT INQUIRY--------------\n{CHQ}\n--------------END PATIENT INQUIRY--------------"''',
    "meqsum.assistant": r'''"Question: {Summary}"''',
    "meqsum.prefix": r'''"Question: "''',
    "meqsum.assistant_vllm": r'''"{Summary}"''',
    "problemsummary.system": r'''"You are a highly skilled and detail-oriented assistant, specifically trained to assist medical professionals '''
                             r'''in interpreting and extracting key information from medical documents. Your primary responsibility will be to '''
                             r'''analyze discharge letters from hospitals. You will receive an excerpt of such a discharge letter. Your task is '''
                             r'''to summarize the diagnoses and problems that led to the patient's hospitalization."''',
    "problemsummary.user": r'''"--------------BEGIN DISCHARGE LETTER--------------\n{Subjectives}\n\n{Assessment}\n--------------END DISCHARGE '''
                           r'''LETTER--------------\nNow respond with the list of diagnoses and patient problems. Do not generate anything else."''',
    "problemsummary.assistant": r'''"Diagnoses/Patient problems: {Summary}"''',
    "problemsummary.prefix": r'''"Diagnoses/Patient problems: "''',
    "problemsummary.assistant_vllm": r'''"{Summary}"''',
    "longhealth.system": r'''"\nYou are a highly skilled and detail-oriented assistant, specifically trained to assist medical professionals in '''
                         r'''interpreting and extracting key information from medical documents. Your primary responsibility will be to analyze '''
                         r'''discharge letters from hospitals. When you receive one or more of these letters, you will be expected to carefully '''
                         r'''review the contents and accurately answer multiple-choice questions related to these documents. \n\nYour answers '''
                         r'''should be:\n1. Accurate: Make sure your answers are based on the information provided in the letters.\n2. Concise: '''
                         r'''Provide brief and direct answers without unnecessary elaboration.\n3. Contextual: Consider the context and '''
                         r'''specifics of each question to provide the most relevant information.\n\nRemember, your job is to streamline the '''
                         r'''physician's decision-making process by providing them with accurate and relevant information from discharge '''
                         r'''summaries. Efficiency and reliability are key.\n"''',
    "longhealth.user": r'''"\n--------------BEGIN DOCUMENTS--------------\n\n{documents}\n\n--------------END '''
                       r'''DOCUMENTS--------------\n\n{question_text}\n{options}\n\nPlease answer using the following format:\n1. Begin your '''
                       r'''answer with the phrase \"The correct answer is\".\n2. State the letter of the correct option (e.g., A, B, C, D, '''
                       r'''E).\n3. Follow the letter with a colon and the exact text of the option you chose.\n4. Make sure your answer is a '''
                       r'''single, concise sentence.\n\nFor example, if the correct answer to a question is option C, and the text for C is '''
                       r''''Acute Bronchitis', your answer should be: \n'The correct answer is C: Acute bronchitis.'\n"''',
    "longhealth.option_f": r'''"Question cannot be answered with provided documents"''',
    "medisumqa.system": r'''"You are a highly skilled assistant, specifically trained to assist lays in understanding and extracting key '''
                        r'''information from medical documents. Your primary responsibility will be to interprete discharge letters from '''
                        r'''hospitals. You will receive such a discharge letter. You should carefully review the contents and accurately answer '''
                        r'''questions related to this document. Only respond with the correct answer to the question. Answer briefly without '''
                        r'''mentioning a lot of specific details. If the question is about measurements (e.g., lab values), interpret their '''
                        r'''meaning in relation to the question, rather than writing down the values. Do not generate anything else."''',
    "medisumqa.user": r'''"--------------BEGIN DISCHARGE LETTER--------------\n{without_discharge_summary}\n--------------END DISCHARGE '''
                      r'''LETTER--------------\nQuestion: {Question}"''',
    "medisumqa.assistant": r'''"Answer: {Answer}"''',
    "medisumqa.user_vllm": r'''"--------------BEGIN DISCHARGE LETTER--------------\n{discharge_summary}\n--------------END DISCHARGE '''
                           r'''LETTER--------------\n{Question}"''',
    "medisumqa.assistant_vllm": r'''"{Answer}"''',
    "medisumcode.system": r'''"You are a highly skilled and detail-oriented assistant, specifically trained to assist medical professionals in '''
                          r'''interpreting and extracting key information from medical documents. Your primary responsibility will be to analyze '''
                          r'''discharge letters from hospitals. You will be given such a discharge letter. Your task is to identify all primary '''
                          r'''and secondary diagnoses from the report and list their respective ICD-10 codes."''',
    "medisumcode.user": r'''"--------------BEGIN DISCHARGE LETTER--------------\n{text}\n--------------END DISCHARGE LETTER--------------\nNow '''
                        r'''return the list of diagnoses ICD-10 codes you found. Only list the ICD-10 codes. Do not generate anything else."''',
    "medisumcode.assistant": r'''"ICD-10 Codes: {codes}"''',
    "medisumcode.prefix": r'''"ICD-10 Codes: "''',
    "longhealth.separator": r'''"\n\n--------------\n\n"''',
}


def spec(key: str):
    return json.loads(SPEC[key])


PROFILES = {
    "clue-v3": {"era": "tgi", "prefix": True, "bos": True, "q2": "keep", "stop": spec("llama3_stop"), "truncate": True},
    "clue-2025": {"era": "vllm", "prefix": False, "bos": True, "q2": "keep", "stop": [], "truncate": False},
    # KIT: corrected stop strings (the spec only says "end-of-turn / next-turn markers for every model").
    "corrected": {"era": "tgi", "prefix": True, "bos": False, "q2": "strip_trailing",
                  "stop": ["<|eot_id|>", "<|im_end|>", "<|end|>", "[INST]"], "truncate": False},
}
MODES = ("instruct-system", "instruct", "base")
MODEL, MPE, BOS = "meta-llama/Meta-Llama-3-8B-Instruct", 8192, "<|begin_of_text|>"
LONGHEALTH_SEED = 0
K = {"mednli": 3, "meqsum": 3, "problemsummary": 3, "medisumqa": 1, "medisumcode": 1}  # launch scripts
MAX_NEW_TOKENS = {"mednli": (20, 20), "meqsum": (200, 512), "problemsummary": (100, 512), "longhealth": (50, 50),
                  "medisumqa": (200, 512), "medisumcode": (200, 512)}  # (TGI, vLLM), §2.4 / §2.5
TRUNCATE = {"mednli": MPE - 200, "meqsum": min(MPE - 200, 24576), "problemsummary": MPE - 100,
            "longhealth": MPE - 50, "medisumqa": MPE - 200, "medisumcode": MPE - 200}  # §2.4 table (LongHealth: task 1)


# --- data -----------------------------------------------------------------------------------------
def synthetic(task: str) -> list[dict]:
    return [json.loads(line) for line in (SYNTHETIC / f"{task}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def real_meqsum(path: Path = REAL_MEQSUM) -> list[dict] | None:
    if not path.is_file():
        return None
    import pandas as pd

    return pd.read_excel(path, engine="openpyxl").to_dict(orient="records")  # first sheet, like the original


def ordered(records: list[dict], task: str, era: str) -> list[dict]:
    """§3.0: file order in the TGI era, random.seed(1) + shuffle in the vLLM era; MeDiSumQA shuffles in both."""
    items = list(records)
    if era == "vllm" or task == "medisumqa":
        random.seed(1)
        random.shuffle(items)
    return items


def clean_problemsummary(summary: str, rule: str) -> str:
    """§3.3 cleaning (Q2): every ';' -> ', '; the corrected rule first drops a trailing ';'."""
    if rule == "strip_trailing":
        summary = summary.rstrip()
        summary = summary[:-1] if summary.endswith(";") else summary
    return summary.replace(";", ", ")


# --- per task: system, shots [(U, A)], U(x), P ------------------------------------------------------
def parts(task: str, records: list[dict], profile: dict):
    era = profile["era"]
    if task == "problemsummary":
        records = [{**r, "Summary": clean_problemsummary(r["Summary"], profile["q2"])} for r in records]
    if task == "medisumcode":
        records = [{**r, "codes": ", ".join(c["code"] for c in r["icd_codes"])} for r in records]
    if task == "medisumqa":  # Q19: each era's letter field, from whichever spelling the file has
        records = [{**r, "without_discharge_summary": r.get("without_discharge_summary", r.get("discharge_summary")),
                    "discharge_summary": r.get("discharge_summary", r.get("without_discharge_summary"))} for r in records]
    items = ordered(records, task, era)
    user = spec(f"{task}.user_vllm") if era == "vllm" and f"{task}.user_vllm" in SPEC else spec(f"{task}.user")
    assistant = spec(f"{task}.assistant_vllm") if era == "vllm" and f"{task}.assistant_vllm" in SPEC else spec(f"{task}.assistant")
    prefix = spec(f"{task}.prefix") if profile["prefix"] and f"{task}.prefix" in SPEC else ""
    if task == "medisumqa" and profile["prefix"]:
        prefix = "Answer: "  # §3.5 / Q3: the faithful prefix (the committed b01cbcf code crashed here)
    k = K[task]
    shots = [(user.format(**e), assistant.format(**e)) for e in items[:k]]
    return spec(f"{task}.system"), shots, user.format(**items[k]), prefix


def messages(system: str, shots, query: str, mode: str) -> list[dict]:
    """§2.2 cases 1 and 2."""
    msgs = [{"role": "system", "content": system}] if mode == "instruct-system" else []
    for i, (u, a) in enumerate(shots):
        if mode == "instruct" and i == 0:
            u = system + "\n\n" + u
        msgs += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
    return msgs + [{"role": "user", "content": query}]


def base_prompt(system: str, shots, query: str, prefix: str) -> str:
    """§2.2 case 3, b01cbcf layout (Q29)."""
    text = system
    for u, a in shots:
        text += "\n\n" + u + "\n\n" + a
    return text + "\n\n" + query + "\n\n" + prefix


def llama3(msgs: list[dict], bos: bool) -> str:
    """The mid-2024 Meta-Llama-3-8B-Instruct chat template, by hand (add_generation_prompt on)."""
    body = "".join(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content'].strip()}<|eot_id|>" for m in msgs)
    return (BOS if bos else "") + body + "<|start_header_id|>assistant<|end_header_id|>\n\n"


# --- LongHealth (§3.4, §4.1): patient 1, question 1, task 1, repetition 0 ---------------------------------
def longhealth_user(records: list[dict]) -> str:
    patient = records[0]
    question = patient["questions"][0]
    answer_docs = [patient["texts"][t] for t in question["answer_location"]]
    others = [t for tid, t in patient["texts"].items() if tid not in question["answer_location"]]
    selected = answer_docs + others
    words = sum(len(str(x).split()) for x in [spec("longhealth.system"), spec("longhealth.user"), *selected])
    assert words < 8140 // 2, "the synthetic patient must fit the budget whole (no cutting in the golden)"
    random.seed(LONGHEALTH_SEED)
    random.shuffle(selected)
    options = "\n".join(f"{label.upper()}: {question['answer_' + label]}" for label in "abcde")
    return spec("longhealth.user").format(documents=spec("longhealth.separator").join(selected),
                                          question_text=question["question"], options=options)


# --- goldens ---------------------------------------------------------------------------------------
def golden(task: str, records: list[dict], profile_name: str, mode: str) -> tuple[str, dict]:
    profile = PROFILES[profile_name]
    base_task = task.split("-")[0]
    era = profile["era"]
    if base_task == "longhealth":
        system, user, prefix = spec("longhealth.system"), longhealth_user(records), ""
        msgs = ([{"role": "user", "content": system + user}] if mode == "instruct"
                else [{"role": "system", "content": system}, {"role": "user", "content": user}])
        base = system + "\n\n\n" + user
    else:
        system, shots, query, prefix = parts(base_task, records, profile)
        msgs = messages(system, shots, query, mode)
        base = base_prompt(system, shots, query, prefix)
    prompt = base if mode == "base" else llama3(msgs, profile["bos"]) + prefix
    n = MAX_NEW_TOKENS[base_task][era == "vllm"]
    record = {
        "messages": None if mode == "base" else msgs,
        "prompt_params": {"max_new_tokens": n, "stop": profile["stop"],
                          "truncate": TRUNCATE[base_task] if profile["truncate"] else None},
        "messages_params": None if mode == "base" else {"max_new_tokens": n, "stop": profile["stop"], "truncate": None},
    }
    return prompt, record


def all_goldens() -> dict[Path, bytes]:
    datasets = {t: synthetic(t) for t in ("mednli", "problemsummary", "longhealth", "medisumqa", "medisumcode")}
    datasets["meqsum-synthetic"] = synthetic("meqsum")
    real = real_meqsum()
    if real is not None:
        datasets["meqsum"] = real
    files: dict[Path, bytes] = {}
    for task, records in datasets.items():
        for profile in PROFILES:
            for mode in MODES:
                prompt, record = golden(task, records, profile, mode)
                files[HERE / task / f"{profile}-{mode}.txt"] = prompt.encode("utf-8")
                files[HERE / task / f"{profile}-{mode}.json"] = (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a golden file would change")
    args = parser.parse_args(argv)
    changed = []
    for path, data in all_goldens().items():
        if not path.is_file() or path.read_bytes() != data:
            changed.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
    for path in changed:
        print(("differs: " if args.check else "wrote: ") + str(path.relative_to(ROOT)))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
