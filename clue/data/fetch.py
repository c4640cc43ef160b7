"""`clue data fetch`: download the files a benchmark declares (`Benchmark.data`), check each one, and say
what must be placed by hand.

Every file is checked, in order, against: the sha256 the kit knows (`DataFile.sha256`), the hash recorded
on an earlier fetch (the lock file, clue/data/lock.py), PhysioNet's SHA256SUMS.txt. With none of these
the hash is recorded in the lock file and we say so. A file that fails its check never replaces the
target (a flipped byte is refused). Files inside an archive are extracted from a cached download
(`<data-dir>/.downloads/`, the Hub's own cache under `<data-dir>/.cache/huggingface`). Licence and
citation are printed per task, and whether its source is pinned to a commit/revision.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Callable, Iterable

from clue.data.http import NO_CREDENTIALS_FIX, Credentials, download, hub_download, physionet_base, physionet_credentials, upstream_sums
from clue.data.lock import expected, record
from clue.datafiles import DataFile, HubFile, PhysioNet, Url, mirrored
from clue.errors import DataError
from clue.files import file_sha256

DOWNLOADS = ".downloads"
HUB_CACHE = ".cache/huggingface"


def _member(archive: Path, member: str, out: Path) -> None:
    """Write the one archive entry equal to `member` or ending with "/<member>" to `out`."""
    def pick(names: list[str]) -> str:
        hits = [n for n in names if n == member or n.endswith("/" + member)]
        if len(hits) != 1:
            raise DataError(f"{archive} has {len(hits) or 'no'} entr{'y' if len(hits) == 1 else 'ies'} named {member}",
                            f"delete {archive} and fetch again; if it persists the release changed")
        return hits[0]

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf, zf.open(pick(zf.namelist())) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            return
        with tarfile.open(archive) as tar:
            fh = tar.extractfile(pick([m.name for m in tar.getmembers() if m.isfile()]))
            with out.open("wb") as dst:
                shutil.copyfileobj(fh, dst)  # type: ignore[arg-type]
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise DataError(f"cannot read {archive} ({exc})", f"delete {archive} and fetch again") from None


def _url_archive(src: Url, item: DataFile, data_dir: Path, creds: Credentials | None, say: Callable[[str], None],
                 refresh: set[str] | None) -> Path:
    """A downloaded archive in the download cache (reused while complete; `refresh`: the archives --force has not
    downloaded again yet in this fetch)."""
    key = hashlib.sha256(src.url.encode()).hexdigest()[:12]
    cached = data_dir / DOWNLOADS / f"{key}-{src.url.rsplit('/', 1)[-1]}"
    if refresh is not None and src.url not in refresh:
        refresh.add(src.url)
        cached.unlink(missing_ok=True)
    if not cached.is_file():
        say(f"  fetching {mirrored(src.url)}")
        part = download(mirrored(src.url), cached.with_name(cached.name + ".part"), item, creds, say)
        os.replace(part, cached)
    return cached


def _check_archive(archive: Path, want: str | None, owned: bool) -> None:
    if want and (got := file_sha256(archive)) != want:
        if owned:
            archive.unlink(missing_ok=True)
        raise DataError(f"sha256 of the downloaded archive {archive.name} is {got}, expected {want} (discarded)",
                        "run the same command again (a corrupted download); if it persists the release changed")


def fetch_one(item: DataFile, data_dir: Path, *, creds: Credentials | None, say: Callable[[str], None] = print,
              sums_cache: dict | None = None, force: bool = False, accept_new: bool = False) -> str:
    """Fetch one file; returns 'present', 'fetched' or 'recorded' (fetched, hash recorded for the first time)."""
    sums_cache = {} if sums_cache is None else sums_cache
    data_dir = Path(data_dir)
    target = data_dir / item.dest
    known, origin = expected(item, data_dir)
    if target.is_file() and not force:
        if known and (got := file_sha256(target)) != known:
            raise DataError(f"{target} is present but its sha256 {got} differs from {known} ({origin})",
                            "delete it and run `clue data fetch` again (or --force)")
        say(f"{item.dest}: present{' (sha256 ok)' if known else ''}")
        return "present"
    src = item.fetcher
    if src is None:
        raise DataError(f"{item.dest} is placed by hand", f"save it as {target}")
    if isinstance(src, PhysioNet) and creds is None:
        raise DataError(f"{item.dest} needs PhysioNet credentials and none were found", NO_CREDENTIALS_FIX)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    part = target.with_name(target.name + ".part")
    if isinstance(src, HubFile):
        say(f"{item.dest}: fetching {src.repo}@{src.revision or 'main (unpinned)'} {src.filename} from the Hugging Face Hub")
        done = sums_cache.setdefault("refreshed", set())
        again = force and src not in done
        done.add(src)
        raw = hub_download(src, data_dir / HUB_CACHE, force=again)
        _check_archive(raw, src.sha256 if item.member else None, owned=False)
        (_member(raw, item.member, tmp) if item.member else shutil.copyfile(raw, tmp))
        made = tmp
    elif isinstance(src, Url):
        say(f"{item.dest}: fetching {mirrored(src.url)}" if not item.member else f"{item.dest}: from {src.url}")
        if item.member:
            archive = _url_archive(src, item, data_dir, creds, say, sums_cache.setdefault("refreshed", set()) if force else None)
            _check_archive(archive, src.sha256, owned=True)
            _member(archive, item.member, tmp)
            made = tmp
        else:
            made = download(mirrored(src.url), part, item, creds, say)
    else:
        upstream = upstream_sums(src, item, creds, sums_cache)
        path = src.path
        if src.pick:
            candidates = sorted(name for name in (upstream or {}) if name.lower().endswith(src.pick))
            if len(candidates) != 1:
                raise DataError(f"cannot tell which file of {item.page} is the {item.task} data "
                                f"({', '.join(candidates) or 'no such file'} in SHA256SUMS.txt)",
                                f"sign in at {item.page}, download it and save it as {target}")
            path = f"{src.project_dir}/{candidates[0]}"
        rel = path[len(src.project_dir) + 1:]
        known, origin = (known, origin) if known else ((upstream or {}).get(rel), "PhysioNet's SHA256SUMS.txt")
        url = f"{physionet_base()}/{path}"
        say(f"{item.dest}: fetching {url}")
        made = download(url, part, item, creds, say)
    digest = file_sha256(made)
    if known and digest != known and not accept_new:
        made.unlink(missing_ok=True)
        raise DataError(f"sha256 of the downloaded {item.dest} is {digest}, expected {known} ({origin}; file discarded)",
                        "run the same command again (a corrupted download); if the upstream release changed, "
                        "re-run with --accept-new-checksum")
    os.replace(made, target)
    if known and digest == known:
        say(f"  sha256 ok ({digest[:16]}…)")
        return "fetched"
    lock = record(data_dir, item.dest, digest, src.where)
    why = "no known hash for this file" if not known else "accepted a changed file (--accept-new-checksum)"
    say(f"  sha256 {digest} recorded in {lock} ({why}; later fetches and runs are checked against it)")
    return "recorded"


def _about(items: list[DataFile]) -> list[str]:
    """Per task: licence, citation, and whether every source is pinned."""
    lines, seen = [], set()
    for item in items:
        if item.task in seen:
            continue
        seen.add(item.task)
        mine = [i for i in items if i.task == item.task and i.fetcher is not None]
        loose = sorted({i.fetcher.where for i in mine if i.fetcher is not None and i.fetcher.pin is None})
        pin = ("source not pinned (no commit/revision known to the kit): " + ", ".join(loose)) if loose else \
              "source pinned" if mine else "placed by hand"
        lines.append(f"{item.task}: licence {item.licence or 'see ' + item.page}; cite {item.citation or item.page}; {pin}")
    return lines


def fetch(tasks: Iterable[str], data_dir: Path, *, say: Callable[[str], None] = print, force: bool = False,
          accept_new: bool = False, benchmark: str | None = None) -> dict[str, str]:
    """Fetch every downloadable file of `tasks`; list the files placed by hand ("manual"); all errors are
    collected, then the first is raised (several: each printed, then one summary line)."""
    from clue.benchmark import resolve

    tasks = list(tasks)
    bench = resolve(benchmark, ",".join(tasks))
    data_dir = Path(data_dir)
    items = [f for f in bench.data if f.task in set(tasks)]
    fetchable = [i for i in items if not i.manual]
    creds = physionet_credentials() if any(isinstance(i.fetcher, PhysioNet) for i in fetchable) else None
    if creds is not None:
        say(f"using PhysioNet credentials from {creds.origin}")
    results: dict[str, str] = {}
    errors: list[DataError] = []
    locked = [i for i in fetchable if isinstance(i.fetcher, PhysioNet) and creds is None
              and (force or not (data_dir / i.dest).is_file())]
    if locked:
        errors.append(DataError(f"{', '.join(i.dest for i in locked)} need(s) PhysioNet credentials and none were found",
                                NO_CREDENTIALS_FIX))
        results.update({i.dest: "error" for i in locked})
    cache: dict = {}
    for item in fetchable:
        if item in locked:
            continue
        try:
            results[item.dest] = fetch_one(item, data_dir, creds=creds, say=say, sums_cache=cache, force=force, accept_new=accept_new)
        except DataError as exc:
            results[item.dest] = "error"
            errors.append(exc)
    for item in items:
        if item.manual and item.locate(data_dir) is None:
            results[item.dest] = "manual"
            say(f"{item.task}: to place by hand: {(data_dir / item.dest).resolve()} — {item.note or 'get it from ' + item.page}")
        elif item.manual:
            results[item.dest] = "present"
    for line in _about(items):
        say(line)
    for builder in bench.builders:
        inputs = [i for i in items if i.task == builder.name and i.role == "input"]
        if inputs and all(results.get(i.dest) in ("present", "fetched", "recorded") for i in inputs):
            say(f"{builder.name}: inputs ready — now run: {builder.usage}")
    if len(errors) > 1:
        for err in errors:
            say(f"  failed: {err.line()}")
        raise DataError(f"{len(errors)} file(s) could not be fetched (see above)", "fix the first problem and run the command again")
    if errors:
        raise errors[0]
    return results
