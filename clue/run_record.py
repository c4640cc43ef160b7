"""run.json's account of how a run was made: environment, command, engine and server, protocol and switches,
template, generation settings, tasks and their prompt templates, data, retry policy — and, for
OpenAI-compatible engines, the generation fields each distinct parameter set sends and why."""

from __future__ import annotations

from typing import Any

from clue.chat_template import ChatTemplate
from clue.provenance import environment
from clue.run_config import RunConfig
from clue.tasks import BuildContext
from clue.types import Request


def run_record(cfg: RunConfig, info: dict[str, Any], template: ChatTemplate | None, ctx: BuildContext,
               started: float) -> dict[str, Any]:
    """What run.json says about how the run was made (before its stats and concurrency are added), but for the
    environment: `with_environment` adds that once the requests are done. Its git calls and package look-ups run
    meanwhile (`provenance.prefetch_environment`); waited for here, before the first request, they held it back
    (~15 ms). So the store's row of a run that never finishes (interrupted) lacks the environment; run.json, plan.json
    and the row of a finished run have it, first, as before."""
    return {
        "command": list(cfg.argv),
        "engine": {"kind": cfg.engine, "endpoint": cfg.endpoint, "describe": info},
        "benchmark": cfg.benchmark,
        "model": cfg.model,
        "revision": ctx.endpoint.revision,
        "protocol": cfg.profile.name,
        "protocol_switches": cfg.profile.switches(),
        "mode": ctx.mode,
        "chat_template": {"source": template.source, "sha": template.sha,
                          "bos": template.bos_record(strip_bos=not cfg.profile.double_bos)} if template else None,
        "max_position_embeddings": ctx.max_position_embeddings,
        "temperature": ctx.temperature if ctx.temperature is not None else cfg.profile.temperature,
        "seed": ctx.seed,
        # the few-shot draw's seeds (--fewshot-seed, else the protocol's); each task's draw is in task_build
        "fewshot_seeds": list(cfg.fewshot_seeds) if cfg.fewshot_seeds else [cfg.profile.shot_seed],
        "route": "native" if cfg.engine == "tgi" else cfg.route if cfg.engine != "baseline" else None,
        "prompts_byte_identical": ctx.send == "prompt",
        "prefill": "generation prefixes appended to the rendered prompt" if ctx.send == "prompt"
                   else "server-side chat template; generation prefixes sent as a final assistant message to continue"
                   if ctx.prefill else "server-side chat template; generation prefixes could not be prefilled",
        "tasks": [t.name for t in cfg.tasks],
        "prompt_templates": {t.name: t.template_hashes() for t in cfg.tasks},
        "data_dir": str(cfg.data_dir),
        "limit": cfg.limit,
        "subset": cfg.subset.record() if cfg.subset is not None else None,  # clue watch's (clue/watch_subset.py)
        "synthetic": cfg.synthetic,
        "concurrency": cfg.concurrency if cfg.concurrency is not None else "follow the server",
        "retry_policy": cfg.policy.__dict__,
        "started": started,
    }


def with_environment(record: dict[str, Any]) -> dict[str, Any]:
    """`record` with the environment it was made in (kit version, git sha, Python, platform, packages) in front."""
    return {**environment(), **record}


def parameter_record(cfg: RunConfig, requests: list[Request]) -> list[dict[str, Any]] | dict[str, Any]:
    """The generation fields an OpenAI-compatible engine sends for these requests, and why (one per distinct params)."""
    from clue.engines.families import body_fields

    distinct = list(dict.fromkeys(r.params for r in requests))
    out = [body_fields(cfg.model, p, family=cfg.model_family, reasoning_effort=cfg.reasoning_effort).record for p in distinct]
    return out[0] if len(out) == 1 else out
