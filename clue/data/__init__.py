"""Dataset acquisition: fetch public and PhysioNet files with sha256 checks, show their status,
and rebuild MeDiSumCode from MIMIC-IV (`clue data fetch|status|build`).

Layout: `<data_dir>/<task>/<original file name>` as the tasks read it, plus MIMIC-IV inputs
under `<data_dir>/mimic-iv…/` and the hashes recorded on first fetch in
`<data_dir>/checksums.json`.
"""

from clue.data.sources import SOURCES, DataFile

__all__ = ["SOURCES", "DataFile"]
