"""Container lifecycle on this host with docker or podman: start, wait for health, check, stop; orphans; faults.

Every container the kit starts carries the label `clue-kit.model=<roster name>` and `clue-kit.owner=host:pid:start`
of the process that started it. `up` first removes a leftover container of the same model whose owner is gone
(a crashed or killed run, or a `clue serve up` that has finished) and refuses one whose owner still runs; `down --all`
removes every container with the kit's label. Before `run`: the image must exist locally when it cannot be pulled
(a `localhost/` image → the build command), and the host port must be free. A container that exits during start,
times out, serves another model, or is interrupted (Ctrl-C, SIGTERM) is removed, its last log lines printed.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from clue.errors import ConfigError, EndpointError
from clue.roster import RosterModel
from clue.secrets import redact
from clue.serving import gguf
from clue.serving.backends import run_argv
from clue.serving.health import check_served, http_get
from clue.serving.options import LABEL, LOCAL_BUILD, OWNER_LABEL, ServeError, ServeOptions, container_name, docker_argv, flavour

START_FIX = {"tgi": "fix the cause in the log (HF_TOKEN for gated models, GPU memory → more --num-shard, image tag)",
             "vllm": "fix the cause in the log (HF_TOKEN for gated models, GPU memory → more --num-shard, image tag)",
             "llamacpp": "fix the cause in the log (a damaged or truncated GGUF file, too little memory for the context, the image)"}
PORT_BUSY = ("address already in use", "port is already allocated")
PULL_FAILED = ("pull", "manifest unknown", "unable to find image", "initializing source", "pinging container registry",
               "repository does not exist", "no such image")


def _docker(opts: ServeOptions, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    argv = [*docker_argv(opts), *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ConfigError(f"docker command {argv[0]!r} not found",
                          "install Docker (with the NVIDIA Container Toolkit for GPUs) or Podman, and set DOCKER= / --docker") from None
    except subprocess.TimeoutExpired:
        raise ServeError(f"`{shlex.join(argv[:3])} …` did not answer within {timeout:.0f} s", "check the container engine") from None


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
    return proc.returncode != 0 and any(s in text for s in ("cannot connect to the docker daemon", "is the docker daemon running",
                                                            "cannot connect to podman"))


def _unreachable(proc: subprocess.CompletedProcess) -> ServeError:
    return ServeError(f"the container engine is not reachable: {_docker_cause(proc)}",
                      "start the Docker daemon (or point DOCKER= / --docker at a CLI that reaches one, e.g. podman)")


def _state(name: str, opts: ServeOptions) -> tuple[bool | None, str]:
    """(running?, exit code): None when the container does not exist."""
    proc = _docker(opts, "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", name)
    if _daemon_unreachable(proc):
        raise _unreachable(proc)
    if proc.returncode != 0:
        return None, ""
    parts = proc.stdout.split()
    return (parts[:1] == ["true"]), (parts[1] if len(parts) > 1 else "?")


def container_logs(name: str, opts: ServeOptions) -> list[str]:
    proc = _docker(opts, "logs", "--tail", str(opts.log_lines), name)
    return [redact(line) for line in (proc.stdout + proc.stderr).splitlines()]


# --- owners and orphans ---------------------------------------------------------------------------

def _start_ticks(pid: int) -> str:
    """The process's start time since boot (Linux /proc; "" elsewhere): with the pid, it survives pid reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_id(pid: int | None = None) -> str:
    """host:pid:start of this process (the value of the owner label)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def owner_alive(owner: str) -> bool | None:
    """Whether the process named by an owner label still runs: None when it ran on another host (cannot tell)."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if not pid_text.isdigit():
        return False
    if host != socket.gethostname():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True  # no /proc (macOS): the pid exists
    return stat[0] not in ("Z", "X") and (not start or stat[19] == start)


def _owner_of(name: str, opts: ServeOptions) -> str:
    proc = _docker(opts, "inspect", "-f", f'{{{{index .Config.Labels "{OWNER_LABEL}"}}}}', name)
    value = proc.stdout.strip() if proc.returncode == 0 else ""
    return "" if value == "<no value>" else value


def _remove_leftover(model: RosterModel, opts: ServeOptions) -> None:
    """Remove the model's container left by a process that is gone; refuse while its owner still runs."""
    name = container_name(model)
    if _state(name, opts)[0] is None:
        return
    owner = _owner_of(name, opts)
    alive = owner_alive(owner) if owner else False
    pid = (owner.split(":") + ["?", "?"])[1]
    if alive is not False and owner != owner_id():
        where = "on another host" if alive is None else "still running"
        raise ServeError(f"container {name} belongs to clue process {pid} {where}",
                         f"wait for it, or stop it: clue serve down {model.name} (DOCKER={opts.docker})")
    gone = f" (its owner, process {pid}, is gone)" if owner else ""
    print(f"clue: removing a leftover container {name}{gone}", file=sys.stderr)
    down(model, opts, quiet=True)


def kit_containers(opts: ServeOptions) -> list[str]:
    """Names of every container (running or not) that carries the kit's label."""
    proc = _docker(opts, "ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}")
    if _daemon_unreachable(proc):
        raise _unreachable(proc)
    if proc.returncode != 0:
        raise ServeError(f"`{opts.docker} ps` failed: {_docker_cause(proc)}", "check the container engine")
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def down_all(opts: ServeOptions) -> list[str]:
    """Remove every container with the kit's label (orphans of crashed runs included); returns their names."""
    names = kit_containers(opts)
    for name in names:
        _docker(opts, "rm", "-f", name)
    if left := [n for n in kit_containers(opts) if n in names]:
        raise ServeError(f"`{opts.docker} rm -f` did not remove {', '.join(left)}", "check the container engine")
    print(f"clue: removed {len(names)} kit container(s){': ' + ', '.join(names) if names else ''}", file=sys.stderr)
    return names


# --- checks before `run` ------------------------------------------------------------------------------

def _check_image(opts: ServeOptions) -> None:
    """A `localhost/` image cannot be pulled: it must be built here first (others are pulled by `run`)."""
    ref = opts.image_ref
    if not ref.startswith("localhost/"):
        return
    proc = _docker(opts, "image", "inspect", ref)
    if _daemon_unreachable(proc):
        raise _unreachable(proc)
    if proc.returncode != 0:
        build = LOCAL_BUILD.get(opts.engine, "{docker} build -t " + ref + " <context>").format(docker=opts.docker)
        raise ServeError(f"image {ref} is not in {opts.docker}'s local image store (a localhost/ image cannot be pulled)",
                         f"build it first: {build}")


def _port_busy(port: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _port_error(opts: ServeOptions, why: str) -> ServeError:
    return ServeError(f"port {opts.port} on 127.0.0.1 is already in use ({why})",
                      "stop what holds it (`clue serve down --all` for the kit's own containers), or pick another: --port N / PORT=N")


def _run_failed(model: RosterModel, opts: ServeOptions, proc: subprocess.CompletedProcess) -> ServeError:
    cause = _docker_cause(proc)
    text = (proc.stderr + proc.stdout).lower()
    if any(s in text for s in PORT_BUSY):
        return _port_error(opts, cause)
    if any(s in text for s in PULL_FAILED):
        build = LOCAL_BUILD.get(opts.engine)
        local = f", or build a local image ({build.format(docker=opts.docker)}) and pass --image" if build else ""
        return ServeError(f"image {opts.image_ref} is not here and could not be pulled: {cause}",
                          f"pull it where a registry is reachable: {opts.docker} pull {opts.image_ref}{local}")
    gpu = " with the NVIDIA Container Toolkit (podman: CDI), or --no-gpus" if opts.gpu_value else ""
    return ServeError(f"`{opts.docker} run` for {model.name} failed (exit {proc.returncode}): {cause}",
                      f"is the container engine running{gpu}? (DOCKER= selects the CLI)")


# --- health and lifecycle -------------------------------------------------------------------------------

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
            raise _fail_with_logs(name, opts, f"container {name} {gone} before becoming healthy", START_FIX[opts.engine])
        status, _ = http_get(opts.url + "/health")
        if status == 200:
            return
        if clock() >= deadline:
            raise _fail_with_logs(name, opts, f"container {name} was not healthy at {opts.url}/health after {opts.health_timeout_s:g} s",
                                  "raise --health-timeout (HEALTH_TIMEOUT=) for first downloads, or fix the cause in the log")
        sleep(opts.poll_s)


def down(model: RosterModel, opts: ServeOptions, *, quiet: bool = False) -> bool:
    """Stop and remove the model's container; True if there was one."""
    name = container_name(model)
    proc = _docker(opts, "rm", "-f", name)
    text = (proc.stdout + proc.stderr).lower()
    existed = proc.returncode == 0 and "no such container" not in text and "no container with name" not in text
    if not quiet:
        print(f"clue: {'stopped and removed' if existed else 'no'} container {name}", file=sys.stderr)
    return existed


def up(model: RosterModel, opts: ServeOptions) -> dict[str, Any]:
    """Start the container, wait for health, check what it serves; on any failure or interrupt remove it."""
    served = gguf.resolve(model, opts) if opts.engine == "llamacpp" else None
    argv = run_argv(model, opts, owner_id(), served)
    name = container_name(model)
    _remove_leftover(model, opts)
    _check_image(opts)
    if (why := _port_busy(opts.port)) is not None:
        raise _port_error(opts, why)
    print(f"clue: starting {model.name} ({opts.engine}, {flavour(opts)}): {redact(shlex.join(argv))}", file=sys.stderr)
    try:
        proc = _docker(opts, *argv[len(docker_argv(opts)):], timeout=600.0)  # may pull the image
        if proc.returncode != 0:
            raise _run_failed(model, opts, proc)
        wait_healthy(name, opts)
        info = check_served(model, opts)
    except BaseException:
        if down(model, opts, quiet=True):  # only a container that exists was removed
            print(f"clue: removed container {name}", file=sys.stderr)
        raise
    if served is not None:
        info["gguf"] = served.provenance()
    if served is not None:  # /props named this file: the container loaded what was asked for
        digest = f"sha256 {served.sha256[:12]}…" if served.sha256 else "sha256 not pinned"
        what = f"serving {served.spec.file}, {digest}, checked by /props"
    else:
        what = f"revision {info.get('model_sha') or 'unknown'}"
    print(f"clue: {model.name} is up and healthy at {opts.endpoint} ({what})", file=sys.stderr)
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
