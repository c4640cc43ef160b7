"""Loaders for the files the ClinicBench authors released: Treatment Recommendation, Drug Interaction,
Hospitalization Summarization, Patient Education.

The last two hold MIMIC text (credentialed, see datasets.py): these loaders only read what the user
fetched; nothing here writes, logs or prints their content.
"""

from __future__ import annotations

import ast
import random
from pathlib import Path

from clue.benchmarks.clinicbench.items import Item, Loaded
from clue.benchmarks.clinicbench.loaders._io import bad, need, read_csv, read_json, require

PATIENT_EDUCATION_N = 181
PATIENT_EDUCATION_SEED = 0


def _list_cell(text: str, path: Path, where: str) -> list[str]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise bad(path, f"{where} is not a Python list literal") from None
    if not isinstance(value, list):
        raise bad(path, f"{where} is not a list")
    return [str(v).strip() for v in value if str(v).strip()]


def load_treatment(csv_path: str | Path) -> Loaded:
    """Treatment-Recommendation.csv (= ChatDoctor format_dataset.csv): idx, disease, Symptom, reason,
    TestsAndProcedures, commonMedications; reference = the commonMedications list."""
    path = need(csv_path)
    items = []
    for n, row in enumerate(read_csv(path)):
        require(row, ("disease", "Symptom", "reason", "commonMedications"), path, f"row {n + 2}")
        symptoms = _list_cell(row["Symptom"], path, f"row {n + 2} Symptom")
        drugs = _list_cell(row["commonMedications"], path, f"row {n + 2} commonMedications")
        if not drugs:
            raise bad(path, f"row {n + 2} has no medications")
        fields = {"disease": row["disease"].strip(), "symptoms": symptoms, "reason": row["reason"].strip()}
        items.append(Item(str(row.get("idx") or n), fields, tuple(drugs), "test"))
    return Loaded(tuple(items))


def load_drug_interaction(csv_path: str | Path) -> Loaded:
    """Drug-Interaction-for-Emerging-Drugs.csv: question, answer (yes/no). The file is sorted by label
    (100 yes then 100 no): items keep file order, exemplars are a seeded leave-one-out draw (pools.py)."""
    path = need(csv_path)
    items = []
    for n, row in enumerate(read_csv(path)):
        require(row, ("question", "answer"), path, f"row {n + 2}")
        answer = row["answer"].strip().lower()
        if answer not in ("yes", "no"):
            raise bad(path, f"row {n + 2}: answer {row['answer']!r} is not yes/no")
        items.append(Item(f"test-{n}", {"question": row["question"].strip()}, answer, "test"))
    return Loaded(tuple(items))


def load_hospitalization(json_path: str | Path) -> Loaded:
    """Hospitalization-Summarization.json: a list of {age, answer, gender, hadm_id, instruct, subject_id};
    input = `instruct`, reference = `answer`. MIMIC-IV text: credentialed."""
    path = need(json_path)
    data = read_json(path)
    if isinstance(data, dict):
        data = list(data.values())
    if not isinstance(data, list):
        raise bad(path, "expected a JSON list of records")
    items = []
    for n, rec in enumerate(data):
        if not isinstance(rec, dict):
            raise bad(path, f"record {n} is not an object")
        require(rec, ("instruct", "answer"), path, f"record {n}")
        item_id = str(rec.get("hadm_id") or n)
        items.append(Item(item_id, {"record": str(rec["instruct"]).strip()}, str(rec["answer"]).strip(), "test"))
    return Loaded(tuple(items))


def patient_education_selection(n_rows: int, n: int = PATIENT_EDUCATION_N, seed: int = PATIENT_EDUCATION_SEED) -> list[int]:
    """The kit's choice of the scored rows (the paper's 181 are not identifiable): a seeded draw, sorted."""
    if n_rows <= n:
        return list(range(n_rows))
    return sorted(random.Random(seed).sample(range(n_rows), n))


def load_patient_education(csv_path: str | Path) -> Loaded:
    """Patient-Education.csv: key, discharge_summary, discharge_instruction (3,621 rows). Scored items =
    `patient_education_selection` (181 rows); the other rows are the exemplar pool. MIMIC-III text."""
    path = need(csv_path)
    rows = read_csv(path)
    for n, row in enumerate(rows[:1]):
        require(row, ("discharge_summary", "discharge_instruction"), path, f"row {n + 2}")
    chosen = set(patient_education_selection(len(rows)))
    items: list[Item] = []
    pool: list[Item] = []
    for n, row in enumerate(rows):
        item = Item(f"row-{n}", {"document": row["discharge_summary"].strip()}, row["discharge_instruction"].strip(),
                    "test" if n in chosen else "train")
        (items if n in chosen else pool).append(item)
    return Loaded(tuple(items), tuple(pool), note=f"{len(items)} of {len(rows)} rows scored (seed {PATIENT_EDUCATION_SEED})")
