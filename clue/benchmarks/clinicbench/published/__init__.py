"""Published ClinicBench numbers as data (the core's `Published`): `clinicbench_published.csv` is header-only on
purpose (README.md here), so every `clue verify` check says "no reference"; rows a human adds later — with their
`setting` (zero-shot / k-shot) and the kit's dataset id or title as `task` — are used as they are. Never invent
or back-fill a number. No source tag is in use yet, so there are no notes."""

from __future__ import annotations

from pathlib import Path

from clue.published import Published

HERE = Path(__file__).parent
PUBLISHED = Published.from_csv(HERE / "clinicbench_published.csv", HERE / "models.csv")
