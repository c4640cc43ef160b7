#!/usr/bin/env python3
"""A stand-in for the `docker` CLI in tests (`DOCKER=tests/docker_shim.py`); stdlib only.

Every invocation appends `{"argv": [...], "t": time}` to `$DOCKER_SHIM_DIR/calls.jsonl` (default: a
folder in the temp directory).
`run -d --name N -p 127.0.0.1:PORT:… IMAGE --model-id ID …` (or `--model ID` for vLLM) starts
`tests/fakeserver --port PORT --model-id ID` in the background instead of a container; its
output goes to `$DOCKER_SHIM_DIR/N.log`. `rm -f N` / `stop N` sends it SIGTERM and appends the
fake server's final stats line to `$DOCKER_SHIM_DIR/stats.jsonl` (so tests can count the requests
a container served). `inspect` (state and `{{index .Config.Labels "K"}}`), `logs --tail K`, `ps [-a] [--filter
label=K[=V]] [--format {{.Names}}]` and `image inspect` (every image is present) answer from that state.

Per-model behaviour for tests, `$DOCKER_SHIM_BEHAVIOUR` = JSON {model_id: spec}: spec "exit"
(the container dies at once with a log line), "unhealthy" (runs but never answers /health), or a
list of extra fake-server arguments (e.g. ["--fault", "500=0.5"]).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("DOCKER_SHIM_DIR") or Path(tempfile.gettempdir()) / "clue-docker-shim")
VALUE_OPTS = {"--name", "--label", "--gpus", "--shm-size", "-p", "--publish", "-v", "--volume", "-e", "--env", "--ipc", "--device"}


def _state_file(name: str) -> Path:
    return STATE / f"{name}.json"


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _load(name: str) -> dict | None:
    try:
        return json.loads(_state_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return None


def cmd_run(args: list[str]) -> int:
    opts: dict[str, list[str]] = {}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] in VALUE_OPTS:
            opts.setdefault(args[i], []).append(args[i + 1])
            i += 2
        else:
            i += 1
    image, rest = args[i], args[i + 1:]
    name = opts["--name"][0]
    port = opts["-p"][0].split(":")[1]
    key = next(k for k in ("--model-id", "--model", "--alias") if k in rest)  # tgi, vllm, llama.cpp
    model_id = rest[rest.index(key) + 1]
    labels = dict(label.partition("=")[::2] for label in opts.get("--label", []))
    if (old := _load(name)) and _alive(old.get("pid")):
        print(f"docker: Error response from daemon: Conflict. The container name \"/{name}\" is already in use.", file=sys.stderr)
        return 125
    behaviour = json.loads(os.environ.get("DOCKER_SHIM_BEHAVIOUR") or "{}").get(model_id)
    log = STATE / f"{name}.log"
    state = {"name": name, "image": image, "model_id": model_id, "port": port, "pid": None, "exit_code": 0, "labels": labels}
    if behaviour == "exit":
        log.write_text("Error: DownloadError\nfake: the model could not be loaded (CUDA out of memory)\n")
        state["exit_code"] = 1
    else:
        if behaviour == "unhealthy":
            cmd = [sys.executable, "-c", "import signal; print('loading weights…', flush=True); signal.pause()"]
        else:
            extra = behaviour if isinstance(behaviour, list) else []
            cmd = [sys.executable, str(HERE / "fakeserver"), "--port", port, "--model-id", model_id, *extra]
        with log.open("w") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        state["pid"] = proc.pid
    _state_file(name).write_text(json.dumps(state))
    print(f"{abs(hash(name)):064x}"[-64:])
    return 0


def cmd_inspect(args: list[str]) -> int:
    fmt = args[args.index("-f") + 1] if "-f" in args else "{{.State.Running}}"
    name = args[-1]
    state = _load(name)
    if state is None:
        print(f"Error: No such object: {name}", file=sys.stderr)
        return 1
    running = _alive(state.get("pid"))
    for key, value in state.get("labels", {}).items():
        fmt = fmt.replace(f'{{{{index .Config.Labels "{key}"}}}}', value)
    fmt = re.sub(r'\{\{index \.Config\.Labels "[^"]*"\}\}', "<no value>", fmt)
    print(fmt.replace("{{.State.Running}}", "true" if running else "false")
             .replace("{{.State.ExitCode}}", str(0 if running else state.get("exit_code", 0))))
    return 0


def cmd_logs(args: list[str]) -> int:
    tail = int(args[args.index("--tail") + 1]) if "--tail" in args else 10 ** 9
    name = args[-1]
    if _load(name) is None:
        print(f"Error response from daemon: No such container: {name}", file=sys.stderr)
        return 1
    lines = (STATE / f"{name}.log").read_text().splitlines()
    print("\n".join(lines[-tail:]))
    return 0


def cmd_rm(args: list[str]) -> int:
    name = args[-1]
    state = _load(name)
    if state is None:
        print(f"Error response from daemon: No such container: {name}", file=sys.stderr)
        return 1
    pid = state.get("pid")
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 120  # a safety net only: the fake server exits at once on SIGTERM
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    stats = None
    for line in reversed((STATE / f"{name}.log").read_text().splitlines()):
        if line.startswith("{"):
            stats = json.loads(line)
            break
    with (STATE / "stats.jsonl").open("a") as fh:
        fh.write(json.dumps({"name": name, "model_id": state["model_id"], "stats": stats}) + "\n")
    _state_file(name).unlink()
    print(name)
    return 0


def cmd_ps(args: list[str]) -> int:
    filters = [args[i + 1] for i, a in enumerate(args) if a == "--filter"]
    names_only = "--format" in args and args[args.index("--format") + 1] == "{{.Names}}"
    if not names_only:
        print("CONTAINER ID   NAMES")
    for f in sorted(STATE.glob("*.json")):
        state = json.loads(f.read_text())
        if not ("-a" in args or _alive(state.get("pid"))):
            continue
        wanted = [flt.removeprefix("label=").partition("=") for flt in filters if flt.startswith("label=")]
        labels = state.get("labels", {})
        if all(key in labels and (not has or labels[key] == value) for key, has, value in wanted):
            print(state["name"] if names_only else f"shim           {state['name']}")
    return 0


def main(argv: list[str]) -> int:
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "calls.jsonl").open("a") as fh:
        fh.write(json.dumps({"argv": argv, "t": time.time()}) + "\n")
    if not argv:
        return 0
    command, args = argv[0], argv[1:]
    if command == "run":
        return cmd_run(args)
    if command == "inspect":
        return cmd_inspect(args)
    if command == "logs":
        return cmd_logs(args)
    if command in ("rm", "stop"):
        return cmd_rm(args)
    if command == "ps":
        return cmd_ps(args)
    if command == "image" and args[:1] == ["inspect"]:
        print("[{}]")
        return 0
    if command == "version":
        print("Docker shim (tests)")
        return 0
    print(f"docker shim: unsupported command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
