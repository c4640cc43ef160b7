"""The inference server of a roster model under Apptainer (HPC sites where Docker is not allowed).

`apptainer run --nv docker://IMAGE …` (`serve.apptainer_argv`, built beside `serve.run_argv` so the two never
drift) runs the same TGI / vLLM image and the same server arguments as `clue serve`, with the differences Apptainer
needs: no port mapping (the container shares the host network, so the server itself binds
127.0.0.1:PORT), the Hugging Face cache bound with `--bind`, and `--cleanenv` so the host environment
does not leak in. The token travels by name: `APPTAINERENV_HF_TOKEN` is the one variable Apptainer
passes through `--cleanenv`, and the printed line sets it from `$HF_TOKEN` at run time, never by value.
Podman needs nothing here: it is docker-CLI compatible (`--docker podman`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from clue.roster import RosterModel
from clue.serving import APPTAINER_TOKEN_ENV, ServeError, ServeOptions, apptainer_argv, http_get


def start(model: RosterModel, opts: ServeOptions, apptainer: str = "apptainer", log: Path | None = None) -> subprocess.Popen:
    """Start the server in the background and wait for GET /health (the process is stopped on failure)."""
    env = {**os.environ}
    if os.environ.get("HF_TOKEN"):
        env[APPTAINER_TOKEN_ENV] = os.environ["HF_TOKEN"]
    out = open(log, "ab") if log else None  # noqa: SIM115 — handed to the child, closed below
    try:
        proc = subprocess.Popen(apptainer_argv(model, opts, apptainer), env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
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
