"""`clue serve up|down|status|command MODEL` and the serving options the reproduce loop shares.

`add_options(host=False)` (Kubernetes manifests) leaves out what only a server started on this host uses, and offers
only the engines a pod can start. `down --all` removes every container with the kit's label.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from typing import Any

from clue.errors import ConfigError
from clue.roster import load_roster
from clue.serving.backends import apptainer_command_line, run_argv
from clue.serving.container import down, down_all, sigterm_as_interrupt, status, up
from clue.serving.options import DEFAULT_GPUS, ENGINE_OF, HPC_ENGINES, IMAGES, ServeOptions

# args attribute → ServeOptions field, for the options only a host server has
HOST_OPTIONS = {"docker": "docker", "port": "port", "gpus": "gpus", "shm_size": "shm_size", "poll": "poll_s",
                "gguf_dir": "gguf_dir", "download_gguf": "allow_download"}


def add_options(p: argparse.ArgumentParser, *, host: bool = True) -> None:
    """Options shared by `clue serve` and the reproduce loop; `host=False` (Kubernetes manifests) leaves out those
    that only a server started on this host uses (docker CLI, host port, host cache, GPU flags, GGUF folder, polling),
    so passing one there is an error rather than ignored."""
    engines = tuple(IMAGES) if host else HPC_ENGINES
    p.add_argument("--engine", choices=engines, default="tgi",
                   help=f"server kind: {', '.join(engines)} (default tgi)" + ("; llamacpp serves GGUF files, CPU or GPU" if host else ""))
    if host:
        p.add_argument("--docker", default=os.environ.get("DOCKER") or "docker",
                       help="container CLI: docker or podman (default $DOCKER or docker)")
    p.add_argument("--image", default=None, help="server image (default " + ", ".join(f"{e} {IMAGES[e]}" for e in engines) + ")")
    if host:
        p.add_argument("--port", type=int, default=8080, help="host port on 127.0.0.1 (default 8080)")
        p.add_argument("--hf-cache", default=None,
                       help="host Hugging Face cache mounted into the container (default $HF_HOME or ~/.cache/huggingface)")
        gpus = p.add_mutually_exclusive_group()
        gpus.add_argument("--gpus", default=None,
                          help="GPUs: docker --gpus value (all, a count, device=0,1); podman gets CDI devices nvidia.com/gpu=… "
                               f"(default: {', '.join(f'{e} {v}' for e, v in DEFAULT_GPUS.items())})")
        gpus.add_argument("--no-gpus", action="store_true", help="start the server without GPUs")
        p.add_argument("--shm-size", default="1g", help="docker --shm-size (default 1g, for NCCL; tgi/vllm)")
        p.add_argument("--gguf-dir", default=None,
                       help="llamacpp: folder holding the roster's GGUF file (default: the Hugging Face cache)")
        p.add_argument("--download-gguf", action="store_true",
                       help="llamacpp: download a GGUF missing from the Hugging Face cache (default: never download)")
    p.add_argument("--num-shard", type=int, default=None, help="override the roster's shard count")
    p.add_argument("--health-timeout", type=float, default=3600.0, help="seconds to wait for /health (default 3600)")
    if host:
        p.add_argument("--poll", type=float, default=5.0, help="seconds between health polls (default 5)")
    p.add_argument("--roster", default=None, help="roster YAML (default $CLUE_ROSTER or the benchmark's bundled roster.yaml)")


def options_from(args: argparse.Namespace) -> ServeOptions:
    kwargs: dict[str, Any] = dict(engine=args.engine, image=args.image, num_shard=args.num_shard, health_timeout_s=args.health_timeout)
    kwargs.update({field: getattr(args, name) for name, field in HOST_OPTIONS.items() if hasattr(args, name)})
    if getattr(args, "no_gpus", False):
        kwargs["gpus"] = "none"
    if getattr(args, "hf_cache", None):
        kwargs["hf_cache"] = args.hf_cache
    return ServeOptions(**kwargs)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="start/stop/inspect the inference container of a roster model")
    p.add_argument("action", choices=("up", "down", "status", "command"),
                   help="up: start and wait until healthy; down: stop and remove; status; command: print the docker run line")
    p.add_argument("model", nargs="?", help="roster name or HF id (see `clue models`); none with `down --all`")
    p.add_argument("--all", action="store_true", help="down: remove every container the kit started (orphans of crashed runs too)")
    p.add_argument("--runtime", choices=("docker", "apptainer"), default="docker",
                   help="command: print a docker (podman: --docker podman) or an apptainer line (default docker)")
    add_options(p)


def cmd_serve(args: argparse.Namespace) -> int:
    opts = options_from(args)
    if args.all:
        if args.action != "down" or args.model:
            raise ConfigError("--all goes with `clue serve down` and no model", "clue serve down --all")
        down_all(opts)
        return 0
    if not args.model:
        raise ConfigError(f"`clue serve {args.action}` needs a model", "name a roster model (see `clue models`), or `clue serve down --all`")
    model = load_roster(args.roster).get(args.model)
    if args.action == "command":
        if args.runtime == "apptainer":
            print(apptainer_command_line(model, opts))
        else:
            print(shlex.join(run_argv(model, opts)))
        return 0
    if args.runtime != "docker":
        raise ConfigError(f"--runtime {args.runtime} is for `clue serve command` only",
                          "run the printed line yourself, or use `clue slurm submit --runtime apptainer`")
    if args.action == "down":
        down(model, opts)
        return 0
    if args.action == "status":
        state = status(model, opts)
        print(json.dumps(state, indent=2))
        return 0 if state["healthy"] and state.get("matches_roster") else 1
    with sigterm_as_interrupt():
        info = up(model, opts)
    print(json.dumps({"endpoint": opts.endpoint, "engine": ENGINE_OF[opts.engine], "model": model.hf_id,
                      "revision": info.get("model_sha"), "mode": model.mode, "context_length": model.context_length}, indent=2))
    return 0
