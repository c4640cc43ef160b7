"""What the server on the host port says it serves, compared with the roster (loopback HTTP only, never a proxy).

TGI: `/info` model id and sha. vLLM: `/v1/models` lists the HF id. llama.cpp: `/props` names the GGUF file the
container actually loaded (it must be the one asked for) and `/v1/models` lists the alias (the HF id); the chat
template it applies is the GGUF's own, recorded (with its sha256) in the returned description.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from clue.errors import EndpointError
from clue.roster import RosterModel
from clue.serving.options import GGUF_MOUNT, ServeOptions


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: never via a proxy


def http_get(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """(status, parsed JSON or None); status 0 when nothing answers."""
    try:
        with _opener().open(url, timeout=timeout) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None
    try:
        return status, json.loads(body or b"null")
    except ValueError:
        return status, None


def _model_ids(opts: ServeOptions) -> tuple[int, list[Any], dict[str, Any]]:
    status, listing = http_get(opts.url + "/v1/models")
    data = listing.get("data", []) if isinstance(listing, dict) and isinstance(listing.get("data"), list) else []
    entries = [m for m in data if isinstance(m, dict)]
    return status, [m.get("id") for m in entries], {str(m.get("id")): m for m in entries}


def _check_tgi(model: RosterModel, hf_id: str, opts: ServeOptions) -> dict[str, Any]:
    status, info = http_get(opts.url + "/info")
    if status != 200 or not isinstance(info, dict):
        raise EndpointError(f"{opts.url}/info answered HTTP {status or 'nothing'}", "is this a text-generation-inference server?")
    if info.get("model_id") != hf_id:
        raise EndpointError(f"the container serves {info.get('model_id')!r}, the roster says {hf_id!r}",
                            f"another server holds port {opts.port}? stop it or use --port")
    sha = info.get("model_sha")
    if model.revision and sha != model.revision:
        raise EndpointError(f"the container serves {hf_id} at revision {sha}, the roster pins {model.revision}",
                            "check the roster revision (a full 40-character commit sha of the model repo)")
    return dict(info)


def _check_vllm(model: RosterModel, hf_id: str, opts: ServeOptions) -> dict[str, Any]:
    status, ids, by_id = _model_ids(opts)
    if status != 200 or hf_id not in ids:
        raise EndpointError(f"{opts.url}/v1/models lists {ids or 'nothing'}, not {hf_id!r}", "another server holds the port? use --port")
    _, version = http_get(opts.url + "/version")
    return {"model_id": hf_id, "model_sha": model.revision, "version": (version or {}).get("version"),
            "max_model_len": by_id[hf_id].get("max_model_len"), "server": "vllm",
            "note": "vLLM does not report the served revision; it was pinned with --revision" if model.revision
                    else "vLLM does not report the served revision (roster revision unset: the Hub's main at start time)"}


def _check_llamacpp(model: RosterModel, hf_id: str, opts: ServeOptions) -> dict[str, Any]:
    spec = model.require_gguf()
    wanted = f"{GGUF_MOUNT}/{spec.filename}"
    status, props = http_get(opts.url + "/props")
    if status != 200 or not isinstance(props, dict):
        raise EndpointError(f"{opts.url}/props answered HTTP {status or 'nothing'}",
                            "is this a llama.cpp llama-server? another server holds the port? use --port")
    loaded = props.get("model_path")
    if loaded != wanted:
        raise EndpointError(f"the container loaded {loaded!r}, not {wanted!r} ({model.name}'s GGUF)",
                            f"another server holds port {opts.port}? stop it or use --port; check --image runs llama-server")
    status, ids, _ = _model_ids(opts)
    if status != 200 or hf_id not in ids:
        raise EndpointError(f"{opts.url}/v1/models lists {ids or 'nothing'}, not {hf_id!r}", "the server was not started with --alias; check --image")
    settings = props.get("default_generation_settings")
    settings = settings if isinstance(settings, dict) else {}
    n_ctx = settings.get("n_ctx")
    if isinstance(n_ctx, int) and n_ctx < model.total_tokens:
        raise EndpointError(f"the container's context is {n_ctx} tokens, the roster asks for {model.total_tokens}",
                            "a server started with other flags holds the port? use --port; check --image runs llama-server")
    template = props.get("chat_template") if isinstance(props.get("chat_template"), str) else None
    return {"model_id": hf_id, "model_sha": None, "server": "llama.cpp", "model_path": loaded,
            "gguf": {"repo": spec.repo, "file": spec.file, "revision": spec.revision},
            "build_info": props.get("build_info"), "n_ctx": n_ctx, "total_slots": props.get("total_slots"),
            "chat_template": template, "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if template else None,
            "note": "llama.cpp serves a GGUF conversion of the model with the chat template stored in the GGUF"}


def check_served(model: RosterModel, opts: ServeOptions) -> dict[str, Any]:
    """Compare what the server says it serves with the roster; return its description (EndpointError when they differ)."""
    hf_id = model.require_hf_id()
    check = {"tgi": _check_tgi, "vllm": _check_vllm, "llamacpp": _check_llamacpp}[opts.engine]
    return check(model, hf_id, opts)
