"""Exam-style QA loaders: MedQA, MedMCQA, MMLU professional medicine, PubMedQA, Pharmacology QA."""

from __future__ import annotations

from pathlib import Path

from clue.benchmarks.clinicbench.items import Item, Loaded
from clue.benchmarks.clinicbench.loaders._io import bad, need, read_csv, read_json, read_jsonl, require
from clue.errors import ConfigError

LETTERS = "ABCDE"


def _mc_item(item_id: str, question: str, options: dict[str, str], answer: str, split: str, **extra: object) -> Item:
    return Item(item_id, {"question": question, "options": dict(options), **extra}, answer, split)


def _medqa_rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        try:
            import pandas as pd

            return pd.read_parquet(path).to_dict("records")
        except ImportError:
            raise ConfigError(f"data file {path} is Parquet, which needs pyarrow",
                              "pip install pyarrow, or use the .jsonl file of the same release") from None
    return read_jsonl(path)


def _medqa_items(path: Path, split: str) -> list[Item]:
    items = []
    for n, row in enumerate(_medqa_rows(path)):
        if "sent1" in row:  # HF GBaker/MedQA-USMLE-4-options-hf layout: sent1, ending0..3, label (0-based)
            options = {LETTERS[i]: str(row[f"ending{i}"]) for i in range(5) if f"ending{i}" in row}
            answer = LETTERS[int(row["label"])]
            question = str(row["sent1"])
        else:  # jind11 / GBaker jsonl: question, options{A..}, answer_idx, answer
            require(row, ("question", "options", "answer_idx"), path, f"line {n + 1}")
            options = {str(k): str(v) for k, v in dict(row["options"]).items()}
            answer, question = str(row["answer_idx"]), str(row["question"])
            if "answer" in row and options.get(answer) != str(row["answer"]):
                raise bad(path, f"line {n + 1}: answer_idx {answer} does not name the answer text")
        if answer not in options:
            raise bad(path, f"line {n + 1}: answer {answer} is not among the options {''.join(options)}")
        items.append(_mc_item(f"{split}-{n}", question, options, answer, split))
    return items


def _sibling(path: Path, *names: str) -> Path | None:
    for name in names:
        cand = path.parent / name
        if cand.is_file() and cand != path:
            return cand
    return None


def load_medqa(test: str | Path, train: str | Path | None = None) -> Loaded:
    """jind11 MedQA US test (4 options `phrases_no_exclude_test.jsonl`, or the 5-option `test.jsonl`),
    HF GBaker jsonl/parquet; exemplar pool = the matching train file beside it (or `train`)."""
    test = need(test)
    items = _medqa_items(test, "test")
    train_path = Path(train) if train else _sibling(test, test.name.replace("test", "train"), "phrases_no_exclude_train.jsonl")
    pool = _medqa_items(train_path, "train") if train_path else []
    return Loaded(tuple(items), tuple(pool))


def _medmcqa_items(path: Path, split: str, index_base: int) -> list[Item]:
    """The release's JSON lines (`cop` 1-indexed), or HF openlifescienceai/medmcqa parquet (`cop` 0-indexed)."""
    items = []
    if path.suffix == ".parquet":
        index_base = 0
    for n, row in enumerate(_medqa_rows(path)):
        require(row, ("question", "opa", "opb", "opc", "opd", "cop"), path, f"line {n + 1}")
        cop = int(row["cop"])
        if not index_base <= cop <= index_base + 3:
            other = "0 (HF openlifescienceai/medmcqa)" if index_base == 1 else "1 (the release's dev.json)"
            raise ConfigError(f"data file {path}, line {n + 1}: cop {cop} is outside {index_base}..{index_base + 3}",
                              f"this file looks {other}-indexed: load it with index_base={0 if index_base == 1 else 1}")
        options = {"A": row["opa"], "B": row["opb"], "C": row["opc"], "D": row["opd"]}
        items.append(_mc_item(str(row.get("id") or f"{split}-{n}"), str(row["question"]),
                              {k: str(v) for k, v in options.items()}, "ABCD"[cop - index_base], split))
    return items


def load_medmcqa(dev: str | Path, train: str | Path | None = None, index_base: int = 1) -> Loaded:
    """MedMCQA dev.json (JSON lines, `cop` 1-indexed) — or HF validation rows with index_base=0."""
    dev = need(dev)
    items = _medmcqa_items(dev, "dev", index_base)
    train_path = Path(train) if train else _sibling(dev, "train.json", "train.parquet")
    pool = _medmcqa_items(train_path, "train", index_base) if train_path else []
    return Loaded(tuple(items), tuple(pool))


def _mmlu_items(path: Path, split: str) -> list[Item]:
    items = []
    for n, row in enumerate(read_csv(path, header=False)):
        if len(row) != 6 or row[5].strip() not in "ABCD" or not row[5].strip():
            raise bad(path, f"row {n + 1} is not question,A,B,C,D,answer")
        items.append(_mc_item(f"{split}-{n}", row[0], dict(zip("ABCD", row[1:5])), row[5].strip(), split))
    return items


def load_mmlu(test: str | Path, dev: str | Path | None = None) -> Loaded:
    """hendrycks MMLU `professional_medicine_test.csv` (no header); pool = `professional_medicine_dev.csv`
    beside it or in ../dev/."""
    test = need(test)
    items = _mmlu_items(test, "test")
    dev_name = test.name.replace("_test", "_dev")
    dev_path = Path(dev) if dev else (_sibling(test, dev_name) or _sibling(test.parent.parent / "dev" / "x", dev_name))
    pool = _mmlu_items(dev_path, "dev") if dev_path else []
    return Loaded(tuple(items), tuple(pool))


def _pqa_item(pmid: str, rec: dict, label: str, split: str, path: Path) -> Item:
    require(rec, ("QUESTION", "CONTEXTS"), path, f"PMID {pmid}")
    return Item(pmid, {"question": rec["QUESTION"], "contexts": " ".join(rec["CONTEXTS"])}, label, split)


def load_pubmedqa(ori_pqal: str | Path, test_ground_truth: str | Path) -> Loaded:
    """PQA-L: the test PMIDs of test_ground_truth.json in ascending PMID order — never in a file's
    order: the ground-truth file is sorted by label (276 yes, 169 no, 55 maybe), so its order would make
    `--limit` and any head-of-file choice all "yes". Exemplar pool = the PQA-L items outside the test split."""
    ori, truth = read_json(ori_pqal), read_json(test_ground_truth)
    if not isinstance(ori, dict) or not isinstance(truth, dict):
        raise bad(ori_pqal, "expected a PMID → record mapping (and PMID → label for the ground truth)")
    missing = [p for p in truth if p not in ori]
    if missing:
        raise bad(ori_pqal, f"{len(missing)} test PMIDs (e.g. {missing[0]}) are not in it")
    items, pool = [], []
    for pmid, rec in sorted(ori.items(), key=lambda kv: (len(kv[0]), kv[0])):  # numeric PMID order
        if pmid in truth:
            if truth[pmid] not in ("yes", "no", "maybe"):
                raise bad(test_ground_truth, f"PMID {pmid} has label {truth[pmid]!r}")
            items.append(_pqa_item(pmid, rec, truth[pmid], "test", Path(ori_pqal)))
        elif rec.get("final_decision") in ("yes", "no", "maybe"):
            pool.append(_pqa_item(pmid, rec, rec["final_decision"], "train", Path(ori_pqal)))
    return Loaded(tuple(items), tuple(pool))


def load_pharmacology(xlsx: str | Path) -> Loaded:
    """ClinicBench Pharmacology-QA.xlsx, sheet "selected" (213 rows); no train split (leave-one-out exemplars)."""
    import pandas as pd

    xlsx = need(xlsx)
    try:
        df = pd.read_excel(xlsx, sheet_name="selected", dtype=str)
    except ValueError as exc:
        raise bad(xlsx, f"no readable sheet 'selected' ({exc})") from None
    cols = ("name", "question", "option_A", "option_B", "option_C", "option_D", "answer")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise bad(xlsx, f"sheet 'selected' lacks column(s) {', '.join(missing)}")
    items = []
    for n, row in enumerate(df.to_dict("records")):
        answer = str(row["answer"]).strip()
        if answer not in ("A", "B", "C", "D"):
            raise bad(xlsx, f"row {n + 2}: answer {answer!r} is not A-D")
        options = {k: str(row[f"option_{k}"]) for k in "ABCD"}
        items.append(_mc_item(f"test-{n}", str(row["question"]), options, answer, "test", drug=str(row["name"])))
    return Loaded(tuple(items))
