"""The model roster: which models `make reproduce` evaluates and how each is served.

The roster is data (`clue/benchmarks/<name>/roster.yaml` of the benchmark, or a file of your own via `--roster` / `$CLUE_ROSTER`),
validated on load so that a typo fails at once with one line naming the entry and the field,
instead of hours later inside a container. Each entry carries what the v3 protocol needs to
serve and prompt the model: HF id, pinned revision, conversation mode flags, context length
(the truncate formulas use it), suggested shard count and the published-results name, and, for the
llama.cpp backend, the GGUF file that holds the model (`gguf: {repo, file, revision, sha256}`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clue.errors import ConfigError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
HF_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
GGUF_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*\.gguf$")
TYPES = ("general", "biomedical")

# field -> (accepted types, required)
FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), True),
    "published": ((str, type(None)), True),
    "hf_id": ((str, type(None)), True),
    "revision": ((str, type(None)), True),
    "instruct": ((bool,), True),
    "has_system": ((bool,), True),
    "context_length": ((int,), True),
    "num_shard": ((int,), True),
    "type": ((str,), True),
    "base_model": ((str, type(None)), False),
    "size": ((str, type(None)), False),
    "tasks": ((list, type(None)), False),
    "gated": ((bool,), False),
    "max_input_tokens": ((int, type(None)), False),
    "max_total_tokens": ((int, type(None)), False),
    "dtype": ((str, type(None)), False),
    "note": ((str, type(None)), False),
    "gguf": ((dict, type(None)), False),
}
GGUF_FIELDS = {"repo": True, "file": True, "revision": False, "sha256": False}  # key -> required


@dataclass(frozen=True)
class GGUF:
    """Where the llama.cpp backend finds the model: one GGUF file of a Hub repo (at a pinned commit, with its sha256)."""

    repo: str
    file: str
    revision: str | None = None
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return self.file.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RosterModel:
    """One roster entry (see the field comments at the top of clue/benchmarks/clue/roster.yaml)."""

    name: str
    published: str | None
    hf_id: str | None
    revision: str | None
    instruct: bool
    has_system: bool
    context_length: int
    num_shard: int
    type: str
    base_model: str | None = None
    size: str | None = None
    tasks: tuple[str, ...] | None = None
    gated: bool = False
    max_input_tokens: int | None = None
    max_total_tokens: int | None = None
    dtype: str | None = None
    note: str | None = None
    gguf: GGUF | None = None

    @property
    def mode(self) -> str:
        """The v3 conversation layout (`clue run --mode`)."""
        if not self.instruct:
            return "base"
        return "instruct-system" if self.has_system else "instruct"

    @property
    def input_tokens(self) -> int:
        """TGI --max-input-tokens: the v3 truncate formulas need up to context_length − 50."""
        return self.max_input_tokens or self.context_length - 1

    @property
    def total_tokens(self) -> int:
        """TGI --max-total-tokens (vLLM --max-model-len)."""
        return self.max_total_tokens or self.context_length

    @property
    def slug(self) -> str:
        """File-system and container-safe form of the name."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", self.name)

    def require_hf_id(self) -> str:
        if not self.hf_id:
            raise ConfigError(f"roster model {self.name!r} has no hf_id (ambiguous in the published results)",
                              "set hf_id (and revision) for it in your roster file and pass --roster FILE / ROSTER=FILE")
        return self.hf_id

    def require_gguf(self) -> GGUF:
        if self.gguf is None:
            raise ConfigError(f"roster model {self.name!r} has no GGUF file (the llama.cpp backend serves GGUF models only)",
                              "add `gguf: {repo: ORG/NAME-GGUF, file: NAME.Q8_0.gguf, revision: SHA}` to it in your roster "
                              "(--roster FILE / ROSTER=FILE), or use ENGINE=tgi / vllm")
        return self.gguf


def _check_gguf(raw: dict, where: str) -> GGUF:
    where = f"{where}: gguf"
    unknown = sorted(set(map(str, raw)) - set(GGUF_FIELDS))
    if unknown:
        raise ConfigError(f"{where} has unknown field(s) {', '.join(unknown)}", f"allowed: {', '.join(GGUF_FIELDS)}")
    for key, required in GGUF_FIELDS.items():
        value = raw.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{key} is {value!r}, expected a string", "e.g. gguf: {repo: org/model-GGUF, file: model.Q8_0.gguf}")
    if not HF_ID_RE.match(raw["repo"]):
        raise ConfigError(f"{where}.repo {raw['repo']!r} is not of the form org/name", "the Hub repo that holds the GGUF file")
    if not GGUF_FILE_RE.match(raw["file"]) or ".." in raw["file"].split("/"):
        raise ConfigError(f"{where}.file {raw['file']!r} is not a .gguf path inside the repo", "e.g. file: model.Q8_0.gguf")
    if raw.get("revision") is not None and not SHA_RE.match(raw["revision"]):
        raise ConfigError(f"{where}.revision {raw['revision']!r} is not a 40-character lower-case commit sha", "pin the GGUF repo's commit")
    if raw.get("sha256") is not None and not SHA256_RE.match(raw["sha256"]):
        raise ConfigError(f"{where}.sha256 {raw['sha256']!r} is not 64 lower-case hex digits", "the file's sha256 (Hub → file → LFS)")
    return GGUF(raw["repo"], raw["file"], raw.get("revision"), raw.get("sha256"))


@dataclass(frozen=True)
class Roster:
    models: tuple[RosterModel, ...]
    source: str

    def get(self, key: str) -> RosterModel:
        """Look a model up by name, HF id or published name (case-insensitive)."""
        wanted = key.strip().lower()
        for m in self.models:
            if wanted in {m.name.lower(), (m.hf_id or "").lower(), (m.published or "").lower()}:
                return m
        close = [m.name for m in self.models if wanted[:5] and wanted[:5] in m.name.lower()]
        hint = f"did you mean {', '.join(close[:3])}?" if close else "see `clue models` for the names"
        raise ConfigError(f"model {key!r} is not in the roster {self.source}", hint)

    def select(self, keys: str | list[str] | None) -> list[RosterModel]:
        """`MODELS="a b"` (spaces or commas); empty = every model that has an hf_id."""
        if isinstance(keys, str):
            keys = [k for k in re.split(r"[\s,]+", keys) if k]
        if not keys:
            return [m for m in self.models if m.hf_id]
        return [self.get(k) for k in keys]


def _check_entry(raw: Any, index: int, source: str) -> RosterModel:
    where = f"roster {source}, model #{index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} is not a mapping", "each entry under `models:` is `- name: …` with fields")
    if isinstance(raw.get("name"), str):
        where = f"roster {source}, model {raw['name']!r}"
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{where} has unknown field(s) {', '.join(map(str, unknown))}",
                          f"allowed: {', '.join(FIELDS)}")
    for key, (types, required) in FIELDS.items():
        if key not in raw:
            if required:
                raise ConfigError(f"{where} lacks field {key!r}", "add it (use null where the value is unknown)")
            continue
        value = raw[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ConfigError(f"{where}: field {key!r} is {value!r}, expected {names}", "fix the value in the roster")
    name = raw["name"]
    if not NAME_RE.match(name):
        raise ConfigError(f"{where}: name {name!r} has characters other than letters, digits, '.', '_', '-'",
                          "use a shell- and file-safe handle; the published name goes in `published`")
    if raw["hf_id"] is not None and not HF_ID_RE.match(raw["hf_id"]):
        raise ConfigError(f"{where}: hf_id {raw['hf_id']!r} is not of the form org/name", "fix hf_id or set it to null")
    if raw["revision"] is not None and not SHA_RE.match(raw["revision"]):
        raise ConfigError(f"{where}: revision {raw['revision']!r} is not a 40-character lower-case commit sha",
                          "pin a commit sha (Hub → Files and versions → history) or use null to record it at run time")
    if raw["type"] not in TYPES:
        raise ConfigError(f"{where}: type {raw['type']!r} is not one of {', '.join(TYPES)}", "fix the value")
    if raw["context_length"] < 256:
        raise ConfigError(f"{where}: context_length {raw['context_length']} is implausibly small", "use config.json max_position_embeddings")
    if raw["num_shard"] < 1:
        raise ConfigError(f"{where}: num_shard must be at least 1", "fix the value")
    tasks = raw.get("tasks")
    if tasks is not None and (not tasks or not all(isinstance(t, str) for t in tasks)):
        raise ConfigError(f"{where}: tasks must be a non-empty list of task names", "e.g. tasks: [mednli, meqsum]")
    fields = {k: v for k, v in raw.items()}
    if raw.get("gguf") is not None:
        fields["gguf"] = _check_gguf(raw["gguf"], where)
    if tasks is not None:
        fields["tasks"] = tuple(t.lower() for t in tasks)
    model = RosterModel(**fields)
    if model.input_tokens >= model.total_tokens:
        raise ConfigError(f"{where}: max_input_tokens {model.input_tokens} must be below max_total_tokens {model.total_tokens}",
                          "fix max_input_tokens / max_total_tokens")
    return model


def load_roster(path: str | Path | None = None) -> Roster:
    """Load and validate a roster (default: `$CLUE_ROSTER`, else the default benchmark's roster)."""
    if not path and not os.environ.get("CLUE_ROSTER"):
        from clue.benchmark import default_benchmark

        path = default_benchmark().roster
        if path is None:
            raise ConfigError("the benchmark declares no roster", "pass --roster FILE / ROSTER=FILE")
    path = Path(path or os.environ.get("CLUE_ROSTER") or "")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"roster file {path} not found", "pass an existing YAML file with --roster / ROSTER=") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"roster file {path} is not valid YAML ({str(exc).splitlines()[0]})", "fix the syntax") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list) or not data["models"]:
        raise ConfigError(f"roster file {path} has no `models:` list", "see clue/benchmarks/clue/roster.yaml for the layout")
    unknown = sorted(set(data) - {"version", "models"})
    if unknown:
        raise ConfigError(f"roster file {path} has unknown top-level key(s) {', '.join(map(str, unknown))}",
                          "allowed: version, models")
    models = tuple(_check_entry(raw, i, str(path)) for i, raw in enumerate(data["models"]))
    seen: dict[str, str] = {}
    for m in models:
        for key in {m.name.lower(), m.slug.lower()}:
            if key in seen:
                raise ConfigError(f"roster {path}: model name {m.name!r} is used twice", "give each entry a unique name")
            seen[key] = m.name
    return Roster(models, str(path))


def format_table(roster: Roster) -> str:
    """The `clue models` listing."""
    rows = [("name", "hf_id", "revision", "mode", "context", "shards", "published")]
    for m in roster.models:
        rows.append((m.name, m.hf_id or "(ambiguous — set hf_id)", (m.revision or "at run time")[:12], m.mode,
                     str(m.context_length), str(m.num_shard), m.published or "—"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
