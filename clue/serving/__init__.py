"""Inference containers for roster models: TGI, vLLM or llama.cpp, under docker or podman, bound to 127.0.0.1.

`clue serve up|down|status|command` and `make reproduce` run one container at a time. Modules: `options` (engines,
pinned images, ServeOptions), `backends` (the exact run command per engine and CLI), `gguf` (llama.cpp's model
file), `health` (what the server says it serves), `container` (lifecycle, orphans, faults), `cli`.
Secrets never reach a command line: `-e HF_TOKEN` passes the variable by name, and log lines printed are redacted.
"""

from clue.serving.backends import APPTAINER_TOKEN_ENV, apptainer_argv, apptainer_command_line, gpu_flags, run_argv, server_args
from clue.serving.cli import HOST_OPTIONS, add_options, add_parser, cmd_serve, options_from
from clue.serving.container import (
    container_logs,
    down,
    down_all,
    kit_containers,
    owner_alive,
    owner_id,
    serving,
    sigterm_as_interrupt,
    status,
    up,
    wait_healthy,
)
from clue.serving.health import check_served, http_get
from clue.serving.options import (
    CACHE_MOUNT,
    CONTAINER_PORT,
    ENGINE_OF,
    IMAGES,
    LABEL,
    OWNER_LABEL,
    ServeError,
    ServeOptions,
    container_name,
    docker_argv,
    flavour,
)

__all__ = ["APPTAINER_TOKEN_ENV", "CACHE_MOUNT", "CONTAINER_PORT", "ENGINE_OF", "HOST_OPTIONS", "IMAGES", "LABEL", "OWNER_LABEL",
           "ServeError", "ServeOptions", "add_options", "add_parser", "apptainer_argv", "apptainer_command_line", "check_served",
           "cmd_serve", "container_logs", "container_name", "docker_argv", "down", "down_all", "flavour", "gpu_flags", "http_get",
           "kit_containers", "options_from", "owner_alive", "owner_id", "run_argv", "server_args", "serving", "sigterm_as_interrupt",
           "status", "up", "wait_healthy"]
