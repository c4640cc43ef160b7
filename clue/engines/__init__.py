"""Engine factory: `tgi`, `openai` (chat or completions route), `azure`, `baseline` — one small class each."""

from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import urlparse

from clue.engines.base import Engine, EngineError
from clue.errors import ConfigError
from clue.secrets import read_secret
from clue.types import Sample

ENGINES = ("tgi", "openai", "azure", "baseline")
ROUTES = ("chat", "completions")


def is_loopback(url: str) -> bool:
    """True only for literal loopback addresses and localhost (`127.evil.com` is not loopback)."""
    from clue.phi import is_loopback_host

    return is_loopback_host(urlparse(url).hostname)


DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "tgi": "TGI_API_KEY", "azure": "AZURE_OPENAI_API_KEY"}


def resolve_engine(kind: str, endpoint: str | None) -> str:
    """`openai` pointed at a classic Azure OpenAI resource URL is the `azure` engine."""
    if kind != "openai" or not endpoint:  # nothing to resolve: the azure module (and its OpenAI client) stays unloaded
        return kind
    from clue.engines.azure import is_classic_azure

    return "azure" if is_classic_azure(endpoint) else kind


def make_engine(kind: str, *, endpoint: str | None, model: str, api_key_env: str | None = None, timeout_s: float = 300.0,
                tasks: Mapping[str, Any] | None = None,
                samples: Mapping[tuple[str, str], Sample] | None = None,
                shots: Mapping[str, Sequence[Sample]] | None = None, route: str = "chat", prefill: bool = False,
                model_family: str | None = None, reasoning_effort: str | None = None,
                api_version: str | None = None) -> Engine:
    if kind == "baseline":
        from clue.engines.baseline import BaselineEngine

        return BaselineEngine(tasks or {}, samples or {}, shots or {})
    if kind not in ENGINES:
        raise ConfigError(f"unknown engine {kind!r}", f"choose one of: {', '.join(ENGINES)}")
    if not endpoint:
        raise ConfigError(f"the {kind} engine needs --endpoint URL", "e.g. --endpoint http://127.0.0.1:8080")
    parsed = urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"--endpoint {endpoint!r} is not an http(s) URL", "e.g. --endpoint http://127.0.0.1:8080")
    named = api_key_env is not None
    api_key_env = api_key_env or DEFAULT_KEY_ENV[kind]
    api_key = read_secret(api_key_env)  # remembered: redacted by value wherever it could be written or printed
    if named and not api_key:
        raise ConfigError(f"--api-key-env {api_key_env}: the environment variable {api_key_env} is not set (or empty)",
                          f"export {api_key_env}=… or name the variable that holds the key")
    if kind == "tgi":
        from clue.engines.tgi import TGIEngine

        # Never the implicit HF token: huggingface_hub would send it to whatever --endpoint is.
        return TGIEngine(endpoint, token=api_key or None, timeout_s=timeout_s, key_env=api_key_env)
    if route not in ROUTES:
        raise ConfigError(f"unknown route {route!r}", f"choose one of: {', '.join(ROUTES)}")
    if not api_key:
        if not is_loopback(endpoint):
            raise ConfigError(f"no API key: environment variable {api_key_env} is not set",
                              f"export {api_key_env}=… (or name another variable with --api-key-env)")
        api_key = "EMPTY"  # local vLLM/TGI servers started without --api-key accept any key
    opts: dict[str, Any] = dict(api_key=api_key, timeout_s=timeout_s, key_env=api_key_env, route=route, family=model_family,
                                reasoning_effort=reasoning_effort, prefill=prefill)
    if kind == "azure":
        from clue.engines.azure import AzureEngine

        return AzureEngine(endpoint, model, api_version=api_version, **opts)
    from clue.engines.openai_api import OpenAIEngine

    return OpenAIEngine(endpoint, model, **opts)


__all__ = ["ENGINES", "ROUTES", "Engine", "EngineError", "make_engine", "is_loopback", "resolve_engine"]
