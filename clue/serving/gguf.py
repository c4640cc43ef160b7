"""The GGUF file the llama.cpp backend serves: the roster's `gguf` entry, found on this host.

Looked up by its file name in `--gguf-dir DIR` when given, else in the Hugging Face cache (`$HF_HOME/hub`) at the
pinned revision — never downloaded unless the user allows it (`--download-gguf`). A roster `sha256` is checked
against the file (the cache's blob name is the LFS sha256, so a cached file is not re-read). One line names both
ways to provide a file that is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clue.errors import ConfigError
from clue.files import file_sha256
from clue.roster import GGUF, RosterModel
from clue.serving.options import ServeOptions


@dataclass(frozen=True)
class GGUFFile:
    spec: GGUF
    path: Path  # the real file (symlinks resolved: it is bind-mounted into the container)
    sha256: str | None  # verified against the roster, or the cache's blob name; None when unknown

    def provenance(self) -> dict[str, object]:
        return {"repo": self.spec.repo, "file": self.spec.file, "revision": self.spec.revision, "sha256": self.sha256,
                "bytes": self.path.stat().st_size, "host_path": str(self.path)}


def _source_url(spec: GGUF) -> str:
    return f"https://huggingface.co/{spec.repo}/resolve/{spec.revision or 'main'}/{spec.file}"


def _from_cache(spec: GGUF, model: RosterModel, opts: ServeOptions) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    cache = Path(opts.hf_cache) / "hub"
    try:
        return Path(hf_hub_download(spec.repo, spec.file, revision=spec.revision, cache_dir=cache,
                                    local_files_only=not opts.allow_download))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        how = "could not be downloaded" if opts.allow_download else "is not in the Hugging Face cache"
        raise ConfigError(f"{model.name}'s GGUF {spec.repo}/{spec.file} {how} {cache} ({type(exc).__name__})",
                          f"pass --gguf-dir DIR (a folder holding {spec.filename}, e.g. from {_source_url(spec)}), "
                          "or let the kit fetch it into the cache with --download-gguf") from None


def resolve(model: RosterModel, opts: ServeOptions) -> GGUFFile:
    """The host file for `model`'s GGUF (ConfigError, one line, when it is missing or its sha256 differs)."""
    spec = model.require_gguf()
    if opts.gguf_dir:
        path = Path(opts.gguf_dir).expanduser() / spec.filename
        if not path.is_file():
            raise ConfigError(f"--gguf-dir {opts.gguf_dir} has no {spec.filename} ({model.name}'s GGUF from {spec.repo})",
                              f"put the file there (from {_source_url(spec)}), or leave out --gguf-dir to use the Hugging Face cache")
    else:
        path = _from_cache(spec, model, opts)
    real = path.resolve()
    sha = real.name if len(real.name) == 64 and real.parent.name == "blobs" else None  # the cache names blobs by sha256
    if spec.sha256 and sha != spec.sha256:
        try:
            sha = file_sha256(real)
        except OSError as exc:
            raise ConfigError(f"cannot read {path} ({exc.strerror})", "check the file's permissions") from None
        if sha != spec.sha256:
            raise ConfigError(f"{path} has sha256 {sha}, the roster pins {spec.sha256} for {model.name}",
                              f"replace it with {spec.repo}/{spec.file} at revision {spec.revision or 'main'}")
    return GGUFFile(spec, real, sha)
