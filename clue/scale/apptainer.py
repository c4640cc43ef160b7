"""The inference server of a roster model under Apptainer (HPC sites where Docker is not allowed).

`apptainer run --nv docker://IMAGE …` runs the same TGI / vLLM image and the same server arguments as
`clue serve` (taken from `serve.run_argv`, so the two never drift), with the differences Apptainer
needs: no port mapping (the container shares the host network, so the server itself binds
127.0.0.1:PORT), the Hugging Face cache bound with `--bind`, and `--cleanenv` so the host environment
does not leak in. The token travels by name: `APPTAINERENV_HF_TOKEN` is the one variable Apptainer
passes through `--cleanenv`, and the printed line sets it from `$HF_TOKEN` at run time, never by value.
Podman needs nothing here: it is docker-CLI compatible (`--docker podman`).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

from clue.roster import RosterModel
from clue.serve import CACHE_MOUNT, ServeError, ServeOptions, http_get, run_argv

TOKEN_ENV = "APPTAINERENV_HF_TOKEN"


def server_args(model: RosterModel, opts: ServeOptions, host: str = "127.0.0.1") -> list[str]:
    """The server's own arguments (what follows the image in `docker run`), listening on host:port."""
    docker = run_argv(model, opts)
    args = docker[docker.index(opts.image_ref) + 1:]
    return [*args, "--hostname" if opts.engine == "tgi" else "--host", host, "--port", str(opts.port)]


def argv(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer") -> list[str]:
    """`apptainer run …` for `model` (no secret values; see `env` for the token)."""
    env = ["--env", "HF_HUB_OFFLINE=" + os.environ["HF_HUB_OFFLINE"]] if os.environ.get("HF_HUB_OFFLINE") else []
    if opts.engine == "vllm":
        env += ["--env", "VLLM_NO_USAGE_STATS=1", "--env", "DO_NOT_TRACK=1"]
    return [*shlex.split(apptainer), "run", "--nv", "--cleanenv", "--bind", f"{opts.hf_cache}:{CACHE_MOUNT[opts.engine]}",
            *env, f"docker://{opts.image_ref}", *server_args(model, opts)]


def command_line(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer") -> str:
    """The shell line `clue serve command --runtime apptainer` prints: the token is expanded by the shell, by name."""
    return f'{TOKEN_ENV}="${{HF_TOKEN:-}}" ' + shlex.join(argv(model, opts, apptainer))


def start(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer", log: Path | None = None) -> subprocess.Popen:
    """Start the server in the background and wait for GET /health (the process is stopped on failure)."""
    env = {**os.environ}
    if os.environ.get("HF_TOKEN"):
        env[TOKEN_ENV] = os.environ["HF_TOKEN"]
    out = open(log, "ab") if log else None  # noqa: SIM115 — handed to the child, closed below
    try:
        proc = subprocess.Popen(argv(model, opts, apptainer), env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError:
        raise ServeError(f"apptainer command {apptainer!r} not found", "load the site's apptainer module, or pass --apptainer PATH") from None
    finally:
        if out:
            out.close()
    try:
        _wait_healthy(model, opts, proc, log)
    except BaseException:  # unhealthy, exited, Ctrl-C, SIGTERM: never leave the server behind
        stop(proc)
        raise
    return proc


def _wait_healthy(model: RosterModel, opts: ServeOptions, proc: subprocess.Popen, log: Path | None) -> None:
    deadline = time.monotonic() + opts.health_timeout_s
    while True:
        if proc.poll() is not None:
            raise ServeError(f"the apptainer server of {model.name} exited with code {proc.returncode} before becoming healthy",
                             f"see its output{f' in {log}' if log else ' above'}")
        if http_get(opts.url + "/health")[0] == 200:
            return
        if time.monotonic() >= deadline:
            raise ServeError(f"the apptainer server of {model.name} was not healthy after {opts.health_timeout_s:.0f} s",
                             "raise --health-timeout for first downloads, or read its output")
        time.sleep(opts.poll_s)


def stop(proc: subprocess.Popen, grace_s: float = 30.0) -> None:
    """SIGTERM the server's process group, SIGKILL after `grace_s`."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
