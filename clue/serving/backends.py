"""The exact container command per engine (TGI, vLLM, llama.cpp) and per CLI (docker, podman), golden-tested.

`run_argv` is what `clue serve up` runs and `clue serve command` prints; `server_args` and `apptainer_argv` reuse
it for Slurm and Kubernetes (TGI and vLLM only). No secret value is ever on a command line: HF_TOKEN goes by name.
GPUs: docker `--gpus V`; podman CDI `--device nvidia.com/gpu=…` (all, or one per index / per count);
none when the value is "none" (`--no-gpus`, and the llama.cpp default: its official `server` image is CPU-only).
"""

from __future__ import annotations

import os
import re
import shlex

from clue.errors import ConfigError
from clue.roster import RosterModel
from clue.serving import gguf
from clue.serving.options import (
    CACHE_MOUNT,
    CONTAINER_PORT,
    GGUF_MOUNT,
    HPC_ENGINES,
    LABEL,
    OWNER_LABEL,
    ServeOptions,
    container_name,
    docker_argv,
    flavour,
)

APPTAINER_TOKEN_ENV = "APPTAINERENV_HF_TOKEN"  # the one variable `apptainer --cleanenv` passes in (as HF_TOKEN)
LLAMA_SLOTS = 1  # one request at a time, each with the model's whole context (as TGI/vLLM give every request)


def gpu_flags(opts: ServeOptions) -> list[str]:
    """The GPU flags of `docker run` (`--gpus V`) or `podman run` (CDI devices); [] for no GPUs."""
    value = opts.gpu_value
    if value is None:
        return []
    if flavour(opts) == "docker":
        return ["--gpus", value]
    spec = value.strip('"\'')
    if spec == "all":
        devices = ["all"]
    elif spec.isdigit():  # docker `--gpus 2`: the first two GPUs
        devices = [str(i) for i in range(int(spec))]
    elif (m := re.fullmatch(r'"?device=([0-9A-Za-z,-]+)"?', spec)):  # docker `--gpus device=0,1` (indices or UUIDs)
        devices = m.group(1).split(",")
    else:
        raise ConfigError(f"--gpus {value!r} has no podman equivalent here",
                          "use all, a count (e.g. 2) or device=0,1 (podman gets CDI devices nvidia.com/gpu=…), or --no-gpus")
    return [arg for d in devices for arg in ("--device", f"nvidia.com/gpu={d}")]


def _labels(model: RosterModel, owner: str | None) -> list[str]:
    return ["--label", f"{LABEL}={model.name}", *(["--label", f"{OWNER_LABEL}={owner}"] if owner else [])]


def _llamacpp_argv(model: RosterModel, opts: ServeOptions, owner: str | None, served: gguf.GGUFFile | None) -> list[str]:
    served = served or gguf.resolve(model, opts)
    gpu = gpu_flags(opts)
    argv = [*docker_argv(opts), "run", "-d", "--name", container_name(model), *_labels(model, owner), *gpu,
            "-p", f"127.0.0.1:{opts.port}:{CONTAINER_PORT['llamacpp']}",
            "-v", f"{served.path}:{GGUF_MOUNT}/{served.spec.filename}:ro", opts.image_ref,
            "-m", f"{GGUF_MOUNT}/{served.spec.filename}", "--host", "0.0.0.0", "--port", str(CONTAINER_PORT["llamacpp"]),
            "--alias", model.require_hf_id(), "-c", str(model.total_tokens), "--parallel", str(LLAMA_SLOTS),
            "--jinja", "--seed", "0"]
    return argv + (["--n-gpu-layers", "999"] if gpu else [])


def run_argv(model: RosterModel, opts: ServeOptions, owner: str | None = None, served: gguf.GGUFFile | None = None) -> list[str]:
    """The exact `docker run` / `podman run` command for `model` (no secret values: HF_TOKEN goes by name).

    `owner` (host:pid:start of the process that starts it) is added as a label at start time only; `served` is the
    llama.cpp GGUF file when already resolved (else it is looked up)."""
    if opts.engine == "llamacpp":
        return _llamacpp_argv(model, opts, owner, served)
    hf_id = model.require_hf_id()
    shards = str(opts.num_shard or model.num_shard)
    argv = [*docker_argv(opts), "run", "-d", "--name", container_name(model), *_labels(model, owner),
            *gpu_flags(opts), "--shm-size", opts.shm_size,
            "-p", f"127.0.0.1:{opts.port}:{CONTAINER_PORT[opts.engine]}",
            "-v", f"{opts.hf_cache}:{CACHE_MOUNT[opts.engine]}",
            "-e", "HF_TOKEN", "-e", "HF_HUB_OFFLINE"]
    revision = ["--revision", model.revision] if model.revision else []
    if opts.engine == "tgi":
        argv += [opts.image_ref, "--model-id", hf_id, *revision, "--num-shard", shards,
                 "--max-input-tokens", str(model.input_tokens), "--max-total-tokens", str(model.total_tokens),
                 "--usage-stats", "off"]
    else:
        argv += ["-e", "VLLM_NO_USAGE_STATS=1", "-e", "DO_NOT_TRACK=1", opts.image_ref,
                 "--model", hf_id, *revision, "--served-model-name", hf_id, "--tensor-parallel-size", shards,
                 "--max-model-len", str(model.total_tokens), "--seed", "0", "--generation-config", "vllm"]
    if model.dtype:
        argv += ["--dtype", model.dtype]
    return argv


def _hpc_only(opts: ServeOptions) -> None:
    if opts.engine not in HPC_ENGINES:
        raise ConfigError(f"the {opts.engine} backend runs under docker or podman only (`clue serve`, `make reproduce`)",
                          f"use --engine {' or '.join(HPC_ENGINES)} for Slurm and Kubernetes")


def server_args(model: RosterModel, opts: ServeOptions, host: str = "127.0.0.1") -> list[str]:
    """The server's own arguments (what follows the image in `docker run`), listening on host:port."""
    _hpc_only(opts)
    docker = run_argv(model, opts)
    args = docker[docker.index(opts.image_ref) + 1:]
    return [*args, "--hostname" if opts.engine == "tgi" else "--host", host, "--port", str(opts.port)]


def apptainer_argv(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer") -> list[str]:
    """`apptainer run …` for `model` (clue/scale/apptainer.py; no secret values: the token goes by APPTAINER_TOKEN_ENV)."""
    _hpc_only(opts)
    env = ["--env", "HF_HUB_OFFLINE=" + os.environ["HF_HUB_OFFLINE"]] if os.environ.get("HF_HUB_OFFLINE") else []
    if opts.engine == "vllm":
        env += ["--env", "VLLM_NO_USAGE_STATS=1", "--env", "DO_NOT_TRACK=1"]
    return [*shlex.split(apptainer), "run", "--nv", "--cleanenv", "--bind", f"{opts.hf_cache}:{CACHE_MOUNT[opts.engine]}",
            *env, f"docker://{opts.image_ref}", *server_args(model, opts)]


def apptainer_command_line(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer") -> str:
    """The shell line `clue serve command --runtime apptainer` prints: the token is expanded by the shell, by name."""
    return f'{APPTAINER_TOKEN_ENV}="${{HF_TOKEN:-}}" ' + shlex.join(apptainer_argv(model, opts, apptainer))
