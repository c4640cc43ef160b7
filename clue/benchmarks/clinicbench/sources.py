"""`clue data fetch|status --benchmark clinicbench`: every file of the runnable datasets (datasets.py), test and
the train/dev files the few-shot pools come from, as core `DataFile`s (`DATA`), with licence and citation.

Sources: the Hugging Face Hub at a pinned revision where the dataset lives there, GitHub raw files at pinned
commits, NLM Open-i, MMLU's and BLUE's own release archives (the file taken out of the archive). MIMIC-derived
files (MIMIC-CXR, and the authors' Hospitalization Summarization / Patient Education files, which hold
MIMIC-IV / MIMIC-III text) are never downloaded by the kit even where a public URL exists: only someone
holding PhysioNet credentialed access under the DUA may obtain them; `clue data fetch` lists them as
"to place by hand". Referral QA was never released.
"""

from __future__ import annotations

from dataclasses import replace

from clue.benchmarks.clinicbench.datasets import DATASETS
from clue.data.sources import DataFile

CITATIONS: dict[str, str] = {
    "medqa": "Jin et al., Applied Sciences 2021 (MedQA)",
    "medmcqa": "Pal et al., CHIL 2022 (MedMCQA)",
    "mmlu-medicine": "Hendrycks et al., ICLR 2021 (MMLU)",
    "pubmedqa": "Jin et al., EMNLP 2019 (PubMedQA)",
    "treatment-recommendation": "Liu et al., EMNLP 2024 (ClinicBench); Li et al., Cureus 2023 (ChatDoctor)",
    "iu-xray": "Demner-Fushman et al., JAMIA 2016 (Indiana University chest X-ray collection, NLM Open-i)",
    "mimic-cxr": "Johnson et al., Scientific Data 2019 (MIMIC-CXR)",
    "hospitalization-summarization": "Liu et al., EMNLP 2024 (ClinicBench); Johnson et al., Scientific Data 2023 (MIMIC-IV)",
    "patient-education": "Liu et al., EMNLP 2024 (ClinicBench); Johnson et al., Scientific Data 2016 (MIMIC-III)",
    "bc5-disease": "Li et al., Database 2016 (BC5CDR); Crichton et al., BMC Bioinformatics 2017 (IOB files)",
    "ncbi-disease": "Doğan et al., JBI 2014 (NCBI disease corpus); Crichton et al., BMC Bioinformatics 2017 (IOB files)",
    "ddi": "Herrero-Zazo et al., JBI 2013 (DDI corpus)",
    "gad": "Bravo et al., BMC Bioinformatics 2015 (GAD); Lee et al., Bioinformatics 2020 (BioBERT REdata)",
    "hoc": "Baker et al., Bioinformatics 2016 (Hallmarks of Cancer); Peng et al., BioNLP 2019 (BLUE)",
    "pharmacology-qa": "Liu et al., EMNLP 2024 (ClinicBench)",
    "drug-interaction": "Liu et al., EMNLP 2024 (ClinicBench)",
}


def _data() -> tuple[DataFile, ...]:
    return tuple(replace(f, task=d.name, licence=f.licence or d.licence, page=f.page or d.sources[0],
                         citation=f.citation or CITATIONS.get(d.name, ""))
                 for d in DATASETS if d.runnable for f in d.files)


DATA: tuple[DataFile, ...] = _data()
