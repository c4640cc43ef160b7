"""Radiology report summarization loaders: IU-Xray (NLM Open-i XML reports) and MIMIC-CXR (text reports)."""

from __future__ import annotations

import random
import re
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

from clue.benchmarks.clinicbench.items import Item, Loaded
from clue.benchmarks.clinicbench.loaders._io import bad, need

IU_XRAY_TEST_SHARE = 0.1
IU_XRAY_SEED = 0


def _squash(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _iu_report(xml_bytes: bytes, name: str) -> tuple[str, str, str] | None:
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError:
        raise bad(name, "is not well-formed XML") from None
    sections = {el.get("Label", "").upper(): _squash(el.text) for el in root.iter("AbstractText")}
    findings, impression = sections.get("FINDINGS", ""), sections.get("IMPRESSION", "")
    if not findings or not impression:
        return None
    pmc = root.find(".//pmcId")
    report_id = pmc.get("id") if pmc is not None and pmc.get("id") else Path(name).stem
    return str(report_id), findings, impression


def iu_xray_split(ids: list[str], share: float = IU_XRAY_TEST_SHARE, seed: int = IU_XRAY_SEED) -> set[str]:
    """The kit's test split: a seeded draw of floor(share × n) report ids (341 of 3,419)."""
    ordered = sorted(ids, key=lambda s: (len(s), s))
    return set(random.Random(seed).sample(ordered, int(share * len(ordered))))


def load_iu_xray(source: str | Path) -> Loaded:
    """NLMCXR_reports.tgz (or a directory of its XML files): reports with FINDINGS and IMPRESSION;
    test = `iu_xray_split`, the rest = exemplar pool."""
    source = need(source)
    reports: list[tuple[str, str, str]] = []
    if source.is_dir():
        for path in sorted(source.rglob("*.xml")):
            rep = _iu_report(path.read_bytes(), str(path))
            if rep:
                reports.append(rep)
    else:
        try:
            with tarfile.open(source) as tar:
                for member in tar.getmembers():
                    if member.isfile() and member.name.endswith(".xml"):
                        fh = tar.extractfile(member)
                        rep = _iu_report(fh.read() if fh else b"", member.name)
                        if rep:
                            reports.append(rep)
        except tarfile.TarError as exc:
            raise bad(source, f"not a readable tar archive ({exc})") from None
    if not reports:
        raise bad(source, "no report has both FINDINGS and IMPRESSION")
    test_ids = iu_xray_split([r[0] for r in reports])
    items: list[Item] = []
    pool: list[Item] = []
    for rid, findings, impression in sorted(reports, key=lambda r: (len(r[0]), r[0])):
        split = "test" if rid in test_ids else "train"
        (items if split == "test" else pool).append(Item(rid, {"findings": findings}, impression, split))
    return Loaded(tuple(items), tuple(pool), note=f"{len(items)} of {len(reports)} reports scored (seed {IU_XRAY_SEED})")


_SECTION = re.compile(r"^\s*([A-Z][A-Z /&]+):", re.M)


def mimic_sections(text: str) -> dict[str, str]:
    """Upper-case 'NAME:' headed sections of a MIMIC-CXR free-text report."""
    heads = list(_SECTION.finditer(text))
    out = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out[m.group(1).strip()] = _squash(text[m.end():end])
    return out


def load_mimic_cxr(reports_dir: str | Path) -> Loaded:
    """Every `s<study>.txt` report under `reports_dir` (PhysioNet mimic-cxr-reports layout
    files/pXX/p<subject>/s<study>.txt) that has FINDINGS and IMPRESSION. Credentialed text."""
    reports_dir = need(reports_dir)
    items, skipped = [], 0
    for path in sorted(reports_dir.rglob("s*.txt")):
        sec = mimic_sections(path.read_text(encoding="utf-8", errors="replace"))
        if sec.get("FINDINGS") and sec.get("IMPRESSION"):
            items.append(Item(path.stem, {"findings": sec["FINDINGS"]}, sec["IMPRESSION"], "test"))
        else:
            skipped += 1
    if not items:
        raise bad(reports_dir, "no s*.txt report with FINDINGS and IMPRESSION below it")
    return Loaded(tuple(items), note=f"{skipped} reports without FINDINGS or IMPRESSION skipped")
