"""What an OpenAI-compatible server says about itself, for run.json and the report.

vLLM answers `GET /version`; llama.cpp's llama-server `GET /props` (model path, chat template,
build); TGI `GET /info`. Each is asked once at the server root (the base URL without `/v1`), with
a short timeout; a route the server lacks is simply absent from the record. The answers are
trimmed to the fields that identify the server and model (no prompts, no keys). Asked over the
engine's own client (the kit's connection pool for a loopback server, else httpx2) and headers (no
SDK on the run path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

    from clue.engines.pool import DirectClient

KEEP = {
    "version": ("version",),
    "props": ("model_path", "build_info", "total_slots", "chat_template", "bos_token", "eos_token", "model_alias",
              "default_generation_settings"),
    "info": ("model_id", "model_sha", "version", "sha", "max_input_tokens", "max_total_tokens", "max_concurrent_requests"),
}
SERVERS = {"version": "vllm", "props": "llama.cpp", "info": "tgi"}


def server_root(url: str) -> str:
    url = url.rstrip("/")
    return url.removesuffix("/v1")


async def server_provenance(client: httpx2.AsyncClient | DirectClient, url: str, headers: dict[str, str],
                            timeout_s: float = 5.0) -> dict[str, Any]:
    """{"kind": "vllm" | "llama.cpp" | "tgi" | "unknown", route: trimmed answer, ...}."""
    root, out = server_root(url), {}  # type: str, dict[str, Any]
    for route, fields in KEEP.items():
        try:
            resp = await client.get(f"{root}/{route}", headers=headers, timeout=timeout_s)
            if resp.status_code != 200:
                continue
            data = resp.json()
        except Exception:  # noqa: BLE001 — the route is optional; any failure means "not this server"
            continue
        if not isinstance(data, dict):
            continue
        kept = {k: data[k] for k in fields if k in data}
        if route == "props" and "default_generation_settings" in kept:  # only the context size is of interest
            settings = kept.pop("default_generation_settings")
            kept["n_ctx"] = settings.get("n_ctx") if isinstance(settings, dict) else None
        if kept:
            out[route] = kept
            out.setdefault("kind", SERVERS[route])
    out.setdefault("kind", "unknown")
    return out
