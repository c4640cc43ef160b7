"""One loader per original ClinicBench file format.

`load(name, data_dir)` reads the dataset's files (datasets.py) from `<data_dir>/<name>/`, or from one of
their declared other places (`DataFile.also`: e.g. the public-samples folders, whose files keep their
own names), and returns `Loaded(items, pool)`. The test files are passed first, then the train/dev file
when it is present (else the loader looks beside the test file). Loaders take the file paths themselves as well, so a user can
point one at a file anywhere. A missing or malformed file is a ConfigError (one line: what is
wrong and how to fix it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from clue.benchmarks.clinicbench.datasets import get
from clue.benchmarks.clinicbench.items import Item, Loaded
from clue.benchmarks.clinicbench.loaders.bio import (
    load_ddi,
    load_gad,
    load_hoc,
    load_iob,
)
from clue.benchmarks.clinicbench.loaders.exam import (
    load_medmcqa,
    load_medqa,
    load_mmlu,
    load_pharmacology,
    load_pubmedqa,
)
from clue.benchmarks.clinicbench.loaders.radiology import load_iu_xray, load_mimic_cxr
from clue.benchmarks.clinicbench.loaders.released import (
    PATIENT_EDUCATION_SEED,
    load_drug_interaction,
    load_hospitalization,
    load_patient_education,
    load_treatment,
)
from clue.data.sources import bind
from clue.errors import ConfigError

LOADERS: dict[str, Callable[..., Loaded]] = {
    f.__name__: f for f in (load_medqa, load_medmcqa, load_mmlu, load_pubmedqa, load_pharmacology, load_treatment,
                            load_drug_interaction, load_hospitalization, load_patient_education, load_iu_xray,
                            load_mimic_cxr, load_iob, load_ddi, load_gad, load_hoc)}

__all__ = ["LOADERS", "PATIENT_EDUCATION_SEED", "Item", "Loaded", "load"]


def load(name: str, data_dir: str | Path) -> Loaded:
    """Load dataset `name` from `<data_dir>/<name>/`."""
    ds = get(name)
    if ds.loader is None:
        raise ConfigError(f"ClinicBench dataset {name!r} is {ds.access}: there is nothing to load", "pick another dataset")
    return LOADERS[ds.loader](*files_for(name, data_dir))


def files_for(name: str, data_dir: str | Path) -> list[Path | None]:
    """The paths `load` passes: each test file (where found, else its own place, which the loader reports
    missing), then the train/dev file (None when absent)."""
    ds = get(name)
    files = bind(name, ds.files)
    out: list[Path | None] = []
    for f in (f for f in files if f.role == "test"):
        found = f.locate(Path(data_dir))
        out.append(found[0] if found else Path(data_dir) / f.dest)
    pools = [f for f in files if f.role in ("train", "dev")]
    if pools:
        found = pools[0].locate(Path(data_dir))
        out.append(found[0] if found else None)
    return out
