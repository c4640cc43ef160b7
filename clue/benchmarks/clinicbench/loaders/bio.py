"""Biomedical NLP loaders: IOB NER (BC5-Disease, NCBI-Disease), DDI-2013 XML, GAD tsv, HoC (BLUE tsv)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from pathlib import Path

from clue.benchmarks.clinicbench.items import Item, Loaded
from clue.benchmarks.clinicbench.loaders._io import bad, need

HOC_LABELS = ("activating invasion and metastasis", "avoiding immune destruction", "cellular energetics",
              "enabling replicative immortality", "evading growth suppressors", "genomic instability and mutation",
              "inducing angiogenesis", "resisting cell death", "sustaining proliferative signaling",
              "tumor promoting inflammation")  # BLUE's LABELS order (blue/eval_hoc.py): "i_0/1" codes index it
DDI_TYPES = ("mechanism", "effect", "advise", "int")


def _iob_items(path: Path, split: str) -> list[Item]:
    items: list[Item] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            items.append(Item(f"{split}-{len(items)}", {"tokens": tuple(tokens), "text": " ".join(tokens)},
                              tuple(tags), split))
            tokens.clear()
            tags.clear()

    for n, line in enumerate(need(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            flush()
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not re.match(r"^(O|[BI]-\S+)$", parts[1].strip()):
            raise bad(path, f"line {n} is not token<TAB>IOB-tag")
        tokens.append(parts[0])
        tags.append(parts[1].strip())
    flush()
    return items


def load_iob(test: str | Path, train: str | Path | None = None) -> Loaded:
    """MTL-Bioinformatics-2016 `*-IOB/test.tsv` (token<TAB>tag, blank line between sentences);
    exemplar pool = train.tsv beside it (or `train`)."""
    test = need(test)
    items = _iob_items(test, "test")
    train_path = Path(train) if train else test.parent / "train.tsv"
    pool = _iob_items(train_path, "train") if train_path.is_file() and train_path != test else []
    return Loaded(tuple(items), tuple(pool))


def _tsv_rows(path: Path) -> list[list[str]]:
    rows = [line.split("\t") for line in need(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if rows and [c.strip().lower() for c in rows[0]] in (["index", "sentence", "label"], ["sentence", "label"]):
        rows = rows[1:]
    return rows


def _gad_items(path: Path, split: str) -> list[Item]:
    items = []
    for n, row in enumerate(_tsv_rows(path)):
        if len(row) == 3:
            item_id, sentence, lab = row
        elif len(row) == 2:
            (sentence, lab), item_id = row, f"{split}-{n}"
        else:
            raise bad(path, f"row {n + 1} is not [index<TAB>]sentence<TAB>label")
        if lab.strip() not in ("0", "1"):
            raise bad(path, f"row {n + 1}: label {lab!r} is not 0/1")
        items.append(Item(str(item_id), {"sentence": sentence}, "yes" if lab.strip() == "1" else "no", split))
    return items


def load_gad(test: str | Path, train: str | Path | None = None) -> Loaded:
    """BLURB/BioBERT REdata `GAD/1/test.tsv` (index, sentence, label; header optional; train.tsv has
    no index column) — 1 → "yes", 0 → "no"."""
    test = need(test)
    train_path = Path(train) if train else test.parent / "train.tsv"
    pool = _gad_items(train_path, "train") if train_path.is_file() and train_path != test else []
    return Loaded(tuple(_gad_items(test, "test")), tuple(pool))


def _hoc_labels(cell: str, path: Path, n: int) -> set[str]:
    out: set[str] = set()
    for tok in (t.strip() for t in cell.split(",")):
        if not tok:
            continue
        code = re.match(r"^(\d+)_([01])$", tok)
        if code:  # BLUE bert_data layout: "<label index>_<0|1>" for every label
            if code.group(2) == "1":
                out.add(HOC_LABELS[int(code.group(1))])
        elif tok.lower() in HOC_LABELS:
            out.add(tok.lower())
        else:
            raise bad(path, f"row {n}: unknown HoC label {tok!r}")
    return out


def _hoc_items(path: Path, split: str) -> list[Item]:
    lines = need(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise bad(path, "is empty")
    header = [h.strip().lower() for h in lines[0].split("\t")]
    try:
        i_idx = header.index("index")
        i_lab = next(header.index(h) for h in ("labels", "label") if h in header)
        i_txt = next(header.index(h) for h in ("sentence", "sentence1", "text") if h in header)
    except (ValueError, StopIteration):
        raise bad(path, f"header {lines[0]!r} lacks index / sentence / labels columns") from None
    docs: dict[str, tuple[list[str], set[str]]] = defaultdict(lambda: ([], set()))
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        cells = line.split("\t") + [""] * len(header)
        doc = cells[i_idx].split("_")[0]
        docs[doc][0].append(cells[i_txt].strip())
        docs[doc][1].update(_hoc_labels(cells[i_lab], path, n))
    return [Item(doc, {"text": " ".join(t for t in texts if t)}, frozenset(labels), split)
            for doc, (texts, labels) in docs.items()]


def load_hoc(test: str | Path, train: str | Path | None = None) -> Loaded:
    """BLUE `bert_data/hoc/test.tsv`: sentence rows "<doc>_s<i>" grouped into documents (315 in the
    test split), labels united per document; pool = train.tsv beside it."""
    test = need(test)
    train_path = Path(train) if train else test.parent / "train.tsv"
    pool = _hoc_items(train_path, "train") if train_path.is_file() and train_path != test else []
    return Loaded(tuple(_hoc_items(test, "test")), tuple(pool))


def _span(offset: str) -> tuple[int, int]:
    start, end = offset.split(";")[0].split("-")
    return int(start), int(end) + 1  # DDI offsets are inclusive


def _ddi_pairs(xml_bytes: bytes, name: str, split: str) -> list[Item]:
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError:
        raise bad(name, "is not well-formed XML") from None
    items = []
    for sent in root.iter("sentence"):
        text = sent.get("text", "")
        ents = {e.get("id"): _span(e.get("charOffset", "0-0")) for e in sent.iter("entity")}
        for pair in sent.iter("pair"):
            e1, e2 = ents.get(pair.get("e1")), ents.get(pair.get("e2"))
            if e1 is None or e2 is None:
                raise bad(name, f"pair {pair.get('id')} names an unknown entity")
            masked = text
            for start, end in sorted((e1, e2), reverse=True):
                masked = masked[:start] + "@DRUG$" + masked[end:]
            if pair.get("ddi", "false").lower() == "true":
                kind = (pair.get("type") or "").lower()
                if kind not in DDI_TYPES:
                    raise bad(name, f"pair {pair.get('id')} has type {pair.get('type')!r}")
            else:
                kind = "none"
            items.append(Item(str(pair.get("id")), {"sentence": masked}, kind, split))
    return items


def load_ddi(source: str | Path) -> Loaded:
    """DDICorpus-2013.zip (or its unpacked folder): one item per candidate pair of the XML files under
    'Test for DDI Extraction task' (5,716 pairs); pool = pairs under Train/. A folder or zip without
    those names is read entirely as the test split."""
    source = need(source)
    files: list[tuple[str, bytes]] = []
    if source.is_dir():
        files = [(str(p), p.read_bytes()) for p in sorted(source.rglob("*.xml"))]
    else:
        try:
            with zipfile.ZipFile(source) as zf:
                files = [(n, zf.read(n)) for n in sorted(zf.namelist()) if n.endswith(".xml")]
        except zipfile.BadZipFile as exc:
            raise bad(source, f"not a readable zip archive ({exc})") from None
    marked = any("DDI Extraction task" in n for n, _ in files)
    items, pool = [], []
    for name, data in files:
        if not marked or "Test for DDI Extraction task" in name:
            items += _ddi_pairs(data, name, "test")
        elif "/Train/" in name.replace("\\", "/"):
            pool += _ddi_pairs(data, name, "train")
    if not items:
        raise bad(source, "no test pairs found")
    return Loaded(tuple(items), tuple(pool))
