"""Inference-container lifecycle for roster models: start, wait for health, check /info, stop.

`clue serve up|down|status MODEL` and `make reproduce` use this to run one
text-generation-inference (default) or vLLM container at a time, bound to 127.0.0.1 only.
The docker command is configurable (`--docker`, `$DOCKER`) so tests can substitute a shim.
Secrets never reach a command line: `-e HF_TOKEN` passes the variable by name, and log
lines we print are redacted. A container that fails to become healthy, serves the wrong
model, or is interrupted (Ctrl-C, SIGTERM) is always removed; `serving()` removes it on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from clue.errors import ConfigError, EndpointError, UserError
from clue.roster import RosterModel, load_roster
from clue.secrets import redact

# Pinned images (override with --image / TGI_IMAGE= / VLLM_IMAGE=). TGI 3.3.7 is the last TGI
# release (maintenance mode since 2025-12); record the digest when you pull it.
IMAGES = {"tgi": "ghcr.io/huggingface/text-generation-inference:3.3.7", "vllm": "vllm/vllm-openai:v0.30.0"}
CONTAINER_PORT = {"tgi": 80, "vllm": 8000}
CACHE_MOUNT = {"tgi": "/data", "vllm": "/root/.cache/huggingface"}  # both = the image's HF_HOME
ENGINE_OF = {"tgi": "tgi", "vllm": "openai"}  # `clue run --engine` for each server kind


class ServeError(UserError):
    """The container could not be started, did not become healthy, or serves another model."""


@dataclass(frozen=True)
class ServeOptions:
    engine: str = "tgi"  # "tgi" or "vllm"
    docker: str = "docker"
    image: str | None = None
    port: int = 8080
    hf_cache: str = field(default_factory=lambda: os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface"))
    gpus: str = "all"
    shm_size: str = "1g"
    num_shard: int | None = None  # None: the roster's suggestion
    health_timeout_s: float = 3600.0  # first starts download weights (tens of minutes for 70B)
    poll_s: float = 5.0
    log_lines: int = 40

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


def container_name(model: RosterModel) -> str:
    return "clue-" + model.slug.lower()


def docker_argv(opts: ServeOptions) -> list[str]:
    argv = shlex.split(opts.docker)
    if not argv:
        raise ConfigError("the docker command is empty", "set DOCKER=docker (or the path of a compatible CLI)")
    return argv


def run_argv(model: RosterModel, opts: ServeOptions) -> list[str]:
    """The exact `docker run` command for `model` (no secret values: HF_TOKEN goes by name)."""
    hf_id = model.require_hf_id()
    shards = str(opts.num_shard or model.num_shard)
    argv = [*docker_argv(opts), "run", "-d", "--name", container_name(model), "--label", f"clue-kit.model={model.name}",
            "--gpus", opts.gpus, "--shm-size", opts.shm_size,
            "-p", f"127.0.0.1:{opts.port}:{CONTAINER_PORT[opts.engine]}",
            "-v", f"{opts.hf_cache}:{CACHE_MOUNT[opts.engine]}",
            "-e", "HF_TOKEN", "-e", "HF_HUB_OFFLINE"]
    revision = ["--revision", model.revision] if model.revision else []
    if opts.engine == "tgi":
        argv += [opts.image_ref, "--model-id", hf_id, *revision, "--num-shard", shards,
                 "--max-input-tokens", str(model.input_tokens), "--max-total-tokens", str(model.total_tokens),
                 "--usage-stats", "off"]
        if model.dtype:
            argv += ["--dtype", model.dtype]
    else:
        argv += ["-e", "VLLM_NO_USAGE_STATS=1", "-e", "DO_NOT_TRACK=1", opts.image_ref,
                 "--model", hf_id, *revision, "--served-model-name", hf_id, "--tensor-parallel-size", shards,
                 "--max-model-len", str(model.total_tokens), "--seed", "0", "--generation-config", "vllm"]
        if model.dtype:
            argv += ["--dtype", model.dtype]
    return argv

APPTAINER_TOKEN_ENV = "APPTAINERENV_HF_TOKEN"  # the one variable `apptainer --cleanenv` passes in (as HF_TOKEN)


def server_args(model: RosterModel, opts: ServeOptions, host: str = "127.0.0.1") -> list[str]:
    """The server's own arguments (what follows the image in `docker run`), listening on host:port."""
    docker = run_argv(model, opts)
    args = docker[docker.index(opts.image_ref) + 1:]
    return [*args, "--hostname" if opts.engine == "tgi" else "--host", host, "--port", str(opts.port)]


def apptainer_argv(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer") -> list[str]:
    """`apptainer run …` for `model` (clue/scale/apptainer.py; no secret values: the token goes by APPTAINER_TOKEN_ENV)."""
    env = ["--env", "HF_HUB_OFFLINE=" + os.environ["HF_HUB_OFFLINE"]] if os.environ.get("HF_HUB_OFFLINE") else []
    if opts.engine == "vllm":
        env += ["--env", "VLLM_NO_USAGE_STATS=1", "--env", "DO_NOT_TRACK=1"]
    return [*shlex.split(apptainer), "run", "--nv", "--cleanenv", "--bind", f"{opts.hf_cache}:{CACHE_MOUNT[opts.engine]}",
            *env, f"docker://{opts.image_ref}", *server_args(model, opts)]


def apptainer_command_line(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer") -> str:
    """The shell line `clue serve command --runtime apptainer` prints: the token is expanded by the shell, by name."""
    return f'{APPTAINER_TOKEN_ENV}="${{HF_TOKEN:-}}" ' + shlex.join(apptainer_argv(model, opts, apptainer))


# --- docker and HTTP plumbing ------------------------------------------------------------------

def _docker(opts: ServeOptions, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    argv = [*docker_argv(opts), *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ConfigError(f"docker command {argv[0]!r} not found",
                          "install Docker with the NVIDIA Container Toolkit, or set DOCKER= / --docker") from None
    except subprocess.TimeoutExpired:
        raise ServeError(f"`{shlex.join(argv[:3])} …` did not answer within {timeout:.0f} s", "check the Docker engine") from None


def _docker_cause(proc: subprocess.CompletedProcess) -> str:
    """The line of docker's output that says what went wrong (not its trailing "See 'docker run --help'.")."""
    lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("See '")] or lines
    for ln in lines:
        if "error" in ln.lower() or "cannot connect" in ln.lower():
            return redact(ln)
    return redact(lines[-1]) if lines else "no output"


def _daemon_unreachable(proc: subprocess.CompletedProcess) -> bool:
    text = (proc.stderr + proc.stdout).lower()
    return proc.returncode != 0 and ("cannot connect to the docker daemon" in text or "is the docker daemon running" in text)


def _state(name: str, opts: ServeOptions) -> tuple[bool | None, str]:
    """(running?, exit code): None when the container does not exist."""
    proc = _docker(opts, "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", name)
    if _daemon_unreachable(proc):
        raise ServeError(f"the Docker engine is not reachable: {_docker_cause(proc)}",
                         "start the Docker daemon (or point DOCKER= / --docker at a CLI that reaches one)")
    if proc.returncode != 0:
        return None, ""
    parts = proc.stdout.split()
    return (parts[:1] == ["true"]), (parts[1] if len(parts) > 1 else "?")


def container_logs(name: str, opts: ServeOptions) -> list[str]:
    proc = _docker(opts, "logs", "--tail", str(opts.log_lines), name)
    return [redact(line) for line in (proc.stdout + proc.stderr).splitlines()]


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


def _fail_with_logs(name: str, opts: ServeOptions, what: str, fix: str) -> ServeError:
    lines = container_logs(name, opts)
    if lines:
        print(f"clue: last {len(lines)} log lines of container {name}:", file=sys.stderr)
        for line in lines:
            print(f"  | {line}", file=sys.stderr)
    return ServeError(what + (" (its last log lines are above)" if lines else " (it left no log lines)"), fix)


def wait_healthy(name: str, opts: ServeOptions, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll GET /health until 200; fail fast when the container exits; time out with its logs."""
    deadline = clock() + opts.health_timeout_s
    while True:
        running, code = _state(name, opts)
        if not running:
            gone = "disappeared" if running is None else f"exited with code {code}"
            raise _fail_with_logs(name, opts, f"container {name} {gone} before becoming healthy",
                                  "fix the cause in the log (HF_TOKEN for gated models, GPU memory → more --num-shard, image tag)")
        status, _ = http_get(opts.url + "/health")
        if status == 200:
            return
        if clock() >= deadline:
            raise _fail_with_logs(name, opts, f"container {name} was not healthy at {opts.url}/health after {opts.health_timeout_s:.0f} s",
                                  "raise --health-timeout (HEALTH_TIMEOUT=) for first downloads, or fix the cause in the log")
        sleep(opts.poll_s)


def check_served(model: RosterModel, opts: ServeOptions) -> dict[str, Any]:
    """Compare what the server says it serves with the roster; return its description (sha resolved)."""
    hf_id = model.require_hf_id()
    if opts.engine == "tgi":
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
    status, listing = http_get(opts.url + "/v1/models")
    ids = [m.get("id") for m in (listing or {}).get("data", []) if isinstance(m, dict)] if isinstance(listing, dict) else []
    if status != 200 or hf_id not in ids:
        raise EndpointError(f"{opts.url}/v1/models lists {ids or 'nothing'}, not {hf_id!r}", "another server holds the port? use --port")
    _, version = http_get(opts.url + "/version")
    entry = next(m for m in listing["data"] if m.get("id") == hf_id)
    return {"model_id": hf_id, "model_sha": model.revision, "version": (version or {}).get("version"),
            "max_model_len": entry.get("max_model_len"), "server": "vllm",
            "note": "vLLM does not report the served revision; it was pinned with --revision" if model.revision
                    else "vLLM does not report the served revision (roster revision unset: the Hub's main at start time)"}


# --- lifecycle ------------------------------------------------------------------------------------

def down(model: RosterModel, opts: ServeOptions, *, quiet: bool = False) -> bool:
    """Stop and remove the model's container; True if there was one."""
    name = container_name(model)
    proc = _docker(opts, "rm", "-f", name)
    existed = proc.returncode == 0 and "no such container" not in (proc.stdout + proc.stderr).lower()
    if not quiet:
        print(f"clue: {'stopped and removed' if existed else 'no'} container {name}", file=sys.stderr)
    return existed


def up(model: RosterModel, opts: ServeOptions) -> dict[str, Any]:
    """Start the container, wait for health, check /info; on any failure or interrupt remove it."""
    argv = run_argv(model, opts)
    name = container_name(model)
    if _state(name, opts)[0] is not None:
        print(f"clue: removing a leftover container {name}", file=sys.stderr)
        down(model, opts, quiet=True)
    print(f"clue: starting {model.name} ({opts.engine}): {redact(shlex.join(argv))}", file=sys.stderr)
    try:
        proc = _docker(opts, *argv[len(docker_argv(opts)):], timeout=600.0)  # may pull the image
        if proc.returncode != 0:
            raise ServeError(f"`docker run` for {model.name} failed (exit {proc.returncode}): {_docker_cause(proc)}",
                             "is the Docker engine running with the NVIDIA Container Toolkit? (DOCKER= selects the CLI)")
        wait_healthy(name, opts)
        info = check_served(model, opts)
    except BaseException:
        if down(model, opts, quiet=True):  # only a container that exists was removed
            print(f"clue: removed container {name}", file=sys.stderr)
        raise
    print(f"clue: {model.name} is up at {opts.endpoint} (revision {info.get('model_sha') or 'unknown'})", file=sys.stderr)
    return info


@contextlib.contextmanager
def serving(model: RosterModel, opts: ServeOptions) -> Iterator[dict[str, Any]]:
    """`with serving(m, opts) as info:` — the container runs inside the block and is always removed."""
    info = up(model, opts)
    try:
        yield info
    finally:
        down(model, opts)


def status(model: RosterModel, opts: ServeOptions) -> dict[str, Any]:
    name = container_name(model)
    running, code = _state(name, opts)
    health, _ = http_get(opts.url + "/health") if running else (0, None)
    out: dict[str, Any] = {"container": name, "exists": running is not None, "running": bool(running),
                           "exit_code": code if running is False else None, "healthy": health == 200, "endpoint": opts.endpoint}
    if health == 200:
        try:
            out["served"] = check_served(model, opts)
            out["matches_roster"] = True
        except EndpointError as exc:
            out["matches_roster"], out["problem"] = False, exc.line()
    return out


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so `finally` blocks remove containers on `kill` too."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- command line ---------------------------------------------------------------------------------

HOST_OPTIONS = {"docker": "docker", "port": "port", "gpus": "gpus", "shm_size": "shm_size", "poll": "poll_s"}  # args → ServeOptions


def add_options(p: argparse.ArgumentParser, *, host: bool = True) -> None:
    """Options shared by `clue serve` and the reproduce loop; `host=False` (Kubernetes manifests) leaves out those
    that only a server started on this host uses (docker CLI, host port, host cache, docker --gpus/--shm-size, polling),
    so passing one there is an error rather than ignored."""
    p.add_argument("--engine", choices=tuple(IMAGES), default="tgi",
                   help="server kind: tgi (default) or vllm")
    if host:
        p.add_argument("--docker", default=os.environ.get("DOCKER") or "docker", help="docker CLI command (default $DOCKER or docker)")
    p.add_argument("--image", default=None, help=f"server image (default tgi {IMAGES['tgi']}, vllm {IMAGES['vllm']})")
    if host:
        p.add_argument("--port", type=int, default=8080, help="host port on 127.0.0.1 (default 8080)")
        p.add_argument("--hf-cache", default=None,
                       help="host Hugging Face cache mounted into the container (default $HF_HOME or ~/.cache/huggingface)")
        p.add_argument("--gpus", default="all", help="docker --gpus value (default all)")
        p.add_argument("--shm-size", default="1g", help="docker --shm-size (default 1g, for NCCL)")
    p.add_argument("--num-shard", type=int, default=None, help="override the roster's shard count")
    p.add_argument("--health-timeout", type=float, default=3600.0, help="seconds to wait for /health (default 3600)")
    if host:
        p.add_argument("--poll", type=float, default=5.0, help="seconds between health polls (default 5)")
    p.add_argument("--roster", default=None, help="roster YAML (default $CLUE_ROSTER or the benchmark's bundled roster.yaml)")


def options_from(args: argparse.Namespace) -> ServeOptions:
    kwargs: dict[str, Any] = dict(engine=args.engine, image=args.image, num_shard=args.num_shard, health_timeout_s=args.health_timeout)
    kwargs.update({field: getattr(args, name) for name, field in HOST_OPTIONS.items() if hasattr(args, name)})
    if getattr(args, "hf_cache", None):
        kwargs["hf_cache"] = args.hf_cache
    return ServeOptions(**kwargs)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="start/stop/inspect the inference container of a roster model")
    p.add_argument("action", choices=("up", "down", "status", "command"),
                   help="up: start and wait until healthy; down: stop and remove; status; command: print the docker run line")
    p.add_argument("model", help="roster name or HF id (see `clue models`)")
    p.add_argument("--runtime", choices=("docker", "apptainer"), default="docker",
                   help="command: print a docker (podman: --docker podman) or an apptainer line (default docker)")
    add_options(p)


def cmd_serve(args: argparse.Namespace) -> int:
    model = load_roster(args.roster).get(args.model)
    opts = options_from(args)
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
