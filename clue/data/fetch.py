"""Download task files, verify them against sha256 values, and report what is present.

Public files come from their raw URLs; PhysioNet files need a credentialed account, read from
`PHYSIONET_USERNAME` / `PHYSIONET_PASSWORD` or the `physionet.org` entry of `~/.netrc` (`$NETRC`
names another file). Credentials are sent only to the PhysioNet host (never after a redirect
elsewhere) and never printed. Every downloaded file is checked against, in order: the kit's
bundled hash, the hash recorded on an earlier fetch (`<data_dir>/checksums.json`), the
project's own SHA256SUMS.txt (PhysioNet). With none of these the hash is recorded and we say
so. A file that fails its check never replaces the target.
"""

from __future__ import annotations

import base64
import hashlib
import json
import netrc
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

from clue.data.declared import sources as _src
from clue.errors import DataError

CHECKSUMS = "checksums.json"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    origin: str = ""  # where they came from (for messages; never the values)


def physionet_credentials() -> Credentials | None:
    user, password = os.environ.get("PHYSIONET_USERNAME"), os.environ.get("PHYSIONET_PASSWORD")
    if user and password:
        return Credentials(user, password, "PHYSIONET_USERNAME/PHYSIONET_PASSWORD")
    path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    try:
        entry = netrc.netrc(path).authenticators(urlparse(_src().physionet_base()).hostname or _src().PHYSIONET_HOST)
        if entry is None and (urlparse(_src().physionet_base()).hostname or "") != _src().PHYSIONET_HOST:
            entry = netrc.netrc(path).authenticators(_src().PHYSIONET_HOST)
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        entry = None
    if entry and entry[0] and entry[2]:
        return Credentials(entry[0], entry[2], path)
    return None


NO_CREDENTIALS_FIX = ("set PHYSIONET_USERNAME and PHYSIONET_PASSWORD, or add `machine physionet.org login USER password PASS` "
                      "to ~/.netrc (chmod 600); the account needs credentialed access and the project's signed data use agreement")


class _SameHostRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but drop the Authorization header when the host changes."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlparse(newurl).hostname != urlparse(req.full_url).hostname:
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


def _open(url: str, creds: Credentials | None, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(url, headers={"User-Agent": "clue-kit (data fetch)"})
    if creds is not None:
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    handlers: list = [_SameHostRedirect()]
    host = urlparse(url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers).open(request, timeout=timeout)


def _http_error(exc: urllib.error.HTTPError, item: Any, url: str, creds: Credentials | None) -> DataError:
    if exc.code == 401 and item.credentialed:
        return DataError(f"PhysioNet refused the credentials from {creds.origin if creds else 'nowhere'} for {url} (HTTP 401)",
                         "check the username/password (PHYSIONET_USERNAME/PHYSIONET_PASSWORD or ~/.netrc)")
    if exc.code == 403:
        return DataError(f"access to {url} is forbidden (HTTP 403)",
                         f"your account needs credentialed access and the signed data use agreement at {item.page}")
    if exc.code == 404:
        return DataError(f"{url} was not found (HTTP 404)", f"the release may have moved: {item.manual()}")
    return DataError(f"downloading {url} failed (HTTP {exc.code})", f"retry later, or {item.manual()}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded(data_dir: Path) -> dict[str, str]:
    path = Path(data_dir) / CHECKSUMS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError):
        raise DataError(f"{path} is not valid JSON", "delete it; hashes are recorded again on the next fetch") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _record(data_dir: Path, dest: str, digest: str) -> None:
    entries = recorded(data_dir)
    entries[dest] = digest
    path = Path(data_dir) / CHECKSUMS
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(sorted(entries.items())), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _upstream_sums(item: Any, creds: Credentials | None, cache: dict[str, dict[str, str] | None]) -> dict[str, str] | None:
    """{file path in the project: sha256} from the PhysioNet project's SHA256SUMS.txt, None if absent."""
    if not item.credentialed:
        return None
    folder = item.project_dir
    if folder not in cache:
        url = f"{_src().physionet_base()}/{folder}/SHA256SUMS.txt"
        try:
            with _open(url, creds) as resp:
                text = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                cache[folder] = None
                return None
            raise _http_error(exc, item, url, creds) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(f"cannot reach {url} ({getattr(exc, 'reason', exc)})", "check the network, or " + item.manual()) from None
        sums: dict[str, str] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and len(parts[0]) == 64:
                sums[parts[1].lstrip("*").lstrip("./")] = parts[0].lower()
        cache[folder] = sums
    return cache[folder]


def _download(url: str, target: Path, creds: Credentials | None, item: Any, say: Callable[[str], None]) -> tuple[str, str]:
    """Stream `url` into a temp file next to `target`; return (temp path, sha256)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out, _open(url, creds) as resp:
            for block in iter(lambda: resp.read(CHUNK), b""):
                out.write(block)
                digest.update(block)
                size += len(block)
    except urllib.error.HTTPError as exc:
        os.unlink(tmp)
        raise _http_error(exc, item, url, creds) from None
    except (urllib.error.URLError, OSError) as exc:
        os.unlink(tmp)
        raise DataError(f"downloading {url} failed ({getattr(exc, 'reason', exc)})", "check the network and retry") from None
    except BaseException:
        os.unlink(tmp)
        raise
    say(f"  downloaded {size:,} bytes")
    return tmp, digest.hexdigest()


def fetch_one(item: Any, data_dir: Path, *, creds: Credentials | None, say: Callable[[str], None] = print,
              sums_cache: dict | None = None, force: bool = False, accept_new: bool = False) -> str:
    """Fetch one file; returns 'present', 'fetched' or 'recorded' (fetched, hash recorded for the first time)."""
    sums_cache = {} if sums_cache is None else sums_cache
    target = Path(data_dir) / item.dest
    known = _src().KNOWN_SHA256.get(item.dest) or recorded(data_dir).get(item.dest)
    if target.is_file() and not force:
        if known and sha256_file(target) != known:
            raise DataError(f"data/{item.dest} is present but its sha256 does not match the manifest",
                            "delete it and run `clue data fetch` again (or `--force`)")
        say(f"{item.dest}: present{' (sha256 ok)' if known else ''}")
        return "present"
    if item.credentialed and creds is None:
        raise DataError(f"{item.dest} needs PhysioNet credentials and none were found", NO_CREDENTIALS_FIX)
    url = item.url()
    if url is None and not item.pick:  # no stable download URL: the user places the file (its note says how)
        raise DataError(f"{item.dest} cannot be downloaded by the kit", item.manual())
    upstream = _upstream_sums(item, creds, sums_cache)
    if item.pick:
        candidates = sorted(name for name in (upstream or {}) if name.lower().endswith(item.pick))
        if len(candidates) != 1:
            listed = ", ".join(candidates) or "no such file"
            raise DataError(f"cannot tell which file of {item.page} is the {item.task} data ({listed} in SHA256SUMS.txt)",
                            item.manual())
        url = f"{_src().physionet_base()}/{item.project_dir}/{candidates[0]}"
        known = known or upstream[candidates[0]]  # type: ignore[index]
    elif upstream and not known:
        known = upstream.get(item.path[len(item.project_dir) + 1:])  # type: ignore[index]
    say(f"{item.dest}: fetching {url}")
    tmp, digest = _download(url, target, creds, item, say)
    if known and digest != known and not accept_new:
        os.unlink(tmp)
        raise DataError(f"sha256 of the downloaded {item.dest} is {digest[:16]}…, expected {known[:16]}… (file discarded)",
                        "retry (a corrupted download), or if the upstream release changed, re-run with --accept-new-checksum")
    os.replace(tmp, target)
    if known and digest == known:
        say(f"  sha256 ok ({digest[:16]}…)")
        return "fetched"
    _record(data_dir, item.dest, digest)
    why = "no known hash for this file" if not known else "accepted a changed file (--accept-new-checksum)"
    say(f"  sha256 {digest} recorded in {Path(data_dir) / CHECKSUMS} ({why}; later fetches are checked against it)")
    return "recorded"


def fetch(tasks: Iterable[str], data_dir: Path, *, say: Callable[[str], None] = print, force: bool = False,
          accept_new: bool = False, benchmark: str | None = None) -> dict[str, str]:
    """Fetch every downloadable file of `tasks`; all errors are collected, then the first is raised."""
    tasks = list(tasks)
    src = _src(benchmark, tasks)
    items = [s for s in src.SOURCES if s.task in set(tasks)]
    creds = physionet_credentials() if any(i.credentialed for i in items) else None
    if creds is not None:
        say(f"using PhysioNet credentials from {creds.origin}")
    results: dict[str, str] = {}
    errors: list[DataError] = []
    cache: dict = {}
    locked = [i for i in items if i.credentialed and creds is None and (force or not (Path(data_dir) / i.dest).is_file())]
    if locked:
        errors.append(DataError(f"{', '.join(i.dest for i in locked)} need(s) PhysioNet credentials and none were found",
                                NO_CREDENTIALS_FIX))
        for i in locked:
            results[i.dest] = "error"
    for item in items:
        if item in locked:
            continue
        try:
            results[item.dest] = fetch_one(item, data_dir, creds=creds, say=say, sums_cache=cache, force=force, accept_new=accept_new)
        except DataError as exc:
            results[item.dest] = "error"
            errors.append(exc)
    for task, how in src.BUILT.items():
        if task in set(tasks) and all(results.get(s.dest) in ("present", "fetched", "recorded") for s in src.SOURCES if s.task == task):
            say(f"{task}: inputs ready — now run: {how}")
    if len(errors) > 1:
        for err in errors:
            print(f"  failed: {err.line()}", file=sys.stderr)
        raise DataError(f"{len(errors)} file(s) could not be fetched (see above)", "fix the first problem and run the command again")
    if errors:
        raise errors[0]
    return results
