"""Raw downloads: a resumable HTTP GET into a `.part` file, PhysioNet credentials and their SHA256SUMS.txt,
and the Hugging Face Hub through huggingface_hub.

PhysioNet credentials come from `PHYSIONET_USERNAME` / `PHYSIONET_PASSWORD` or the `physionet.org`
entry of `~/.netrc` (`$NETRC` names another file); they are sent only to the PhysioNet host (never
after a redirect elsewhere) and never printed. An interrupted download leaves `<file>.part`; the next
fetch asks for the rest (`Range`) and starts over when the server ignores that.
"""

from __future__ import annotations

import base64
import netrc
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from clue.data.sources import DataFile, HubFile, PhysioNet, mirrored
from clue.errors import DataError

CHUNK = 1 << 20
PHYSIONET_HOST = "physionet.org"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    origin: str = ""  # where they came from (for messages; never the values)


def physionet_base() -> str:
    return mirrored("https://physionet.org")


def physionet_credentials() -> Credentials | None:
    user, password = os.environ.get("PHYSIONET_USERNAME"), os.environ.get("PHYSIONET_PASSWORD")
    if user and password:
        return Credentials(user, password, "PHYSIONET_USERNAME/PHYSIONET_PASSWORD")
    path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    host = urlparse(physionet_base()).hostname or PHYSIONET_HOST
    try:
        entry = netrc.netrc(path).authenticators(host) or netrc.netrc(path).authenticators(PHYSIONET_HOST)
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


def _open(url: str, creds: Credentials | None, start: int = 0, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    headers = {"User-Agent": "clue-kit (data fetch)"}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    if creds is not None:
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    handlers: list = [_SameHostRedirect()]
    if (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1"):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers).open(request, timeout=timeout)


def http_error(exc: urllib.error.HTTPError, item: DataFile, url: str, creds: Credentials | None) -> DataError:
    if exc.code == 401 and item.credentialed:
        return DataError(f"PhysioNet refused the credentials from {creds.origin if creds else 'nowhere'} for {url} (HTTP 401)",
                         "check the username/password (PHYSIONET_USERNAME/PHYSIONET_PASSWORD or ~/.netrc)")
    if exc.code == 403:
        return DataError(f"access to {url} is forbidden (HTTP 403)",
                         f"your account needs credentialed access and the signed data use agreement at {item.page}")
    if exc.code == 404:
        return DataError(f"{url} was not found (HTTP 404)", f"the release may have moved: see {item.page or url}")
    return DataError(f"downloading {url} failed (HTTP {exc.code})", f"retry later, or get it from {item.page or url}")


def download(url: str, part: Path, item: DataFile, creds: Credentials | None, say: Callable[[str], None]) -> Path:
    """GET `url` into `part`, resuming a partial `part` left by an interrupted fetch; returns `part`."""
    part.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.is_file() else 0
    try:
        with _open(url, creds, start) as resp:
            resumed = start and getattr(resp, "status", 200) == 206
            if start and not resumed:
                say(f"  the server ignored the resume request: downloading {part.name[:-5]} from the start")
            elif resumed:
                say(f"  resuming after {start:,} bytes")
            size = start if resumed else 0
            with part.open("ab" if resumed else "wb") as out:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    out.write(block)
                    size += len(block)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left to send: the .part is complete
            return part
        raise http_error(exc, item, url, creds) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(f"downloading {url} failed ({getattr(exc, 'reason', exc)}; {part} kept)",
                        "check the network and run the same command again: it resumes") from None
    say(f"  downloaded {size:,} bytes")
    return part


def upstream_sums(source: PhysioNet, item: DataFile, creds: Credentials | None, cache: dict[str, dict[str, str] | None]) -> dict[str, str] | None:
    """{file path in the project: sha256} from the PhysioNet project's SHA256SUMS.txt, None if absent."""
    folder = source.project_dir
    if folder not in cache:
        url = f"{physionet_base()}/{folder}/SHA256SUMS.txt"
        try:
            with _open(url, creds) as resp:
                text = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                cache[folder] = None
                return None
            raise http_error(exc, item, url, creds) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(f"cannot reach {url} ({getattr(exc, 'reason', exc)})", f"check the network, or get it from {item.page}") from None
        sums: dict[str, str] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and len(parts[0]) == 64:
                sums[parts[1].lstrip("*").lstrip("./")] = parts[0].lower()
        cache[folder] = sums
    return cache[folder]


def hub_download(source: HubFile, cache_dir: Path, force: bool = False) -> Path:
    """The Hub file through huggingface_hub (resumes by itself; `HF_ENDPOINT` is read at call time)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    where = f"{source.repo}@{source.revision or 'main'}:{source.filename}"
    try:
        return Path(hf_hub_download(source.repo, source.filename, repo_type=source.repo_type, revision=source.revision,
                                    cache_dir=str(cache_dir), endpoint=os.environ.get("HF_ENDPOINT") or None,
                                    force_download=force))
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
        raise DataError(f"the Hub has no {where} ({type(exc).__name__})", f"the dataset may have moved: see {source.where}") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"downloading {where} from the Hugging Face Hub failed ({first})",
                        "check the network (HF_ENDPOINT for a mirror) and run the same command again: it resumes") from None
