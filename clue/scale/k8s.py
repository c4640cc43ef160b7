"""`clue k8s manifest`: the reproduce loop as Kubernetes Indexed Jobs, one index per roster model.

One Job per GPU count (a pod template has one GPU request, so a 70B model with 4 shards and a 7B model
with 1 cannot share a Job). Each pod runs:

- `server`: the TGI / vLLM image as a native sidecar (an init container with `restartPolicy: Always`,
  Kubernetes >= 1.29): it starts first, its startup probe (GET /health) holds the evaluator back until
  the weights are loaded, and it is stopped when the evaluator exits, so the pod completes. Its
  arguments are `clue serve`'s (`serving.run_argv`), chosen by `$JOB_COMPLETION_INDEX`;
  `nvidia.com/gpu` = the roster's shard count; HF_TOKEN from a Secret, by name (`--hf-secret`).
- `evaluator`: the kit's image running `python -m clue.reproduce --no-serve` for the index's model
  against the server on the pod's loopback, its own run directory and SQLite store on a
  PersistentVolumeClaim (`--pvc`), data read from the same claim (`<mount>/data`).

Afterwards `clue report` / `clue verify` over `<mount>/runs/*` (any pod or machine mounting the claim)
merge the results. The manifests are plain dicts written as multi-document YAML; `validate` checks each
against the official `kubernetes` client's models (optional extra `k8s`): it must deserialize into
`V1Job` and serialize back unchanged, so a misspelt or misplaced field fails.
"""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import dataclass
from typing import Any

import yaml

from clue import serving
from clue.errors import ConfigError
from clue.roster import RosterModel, load_roster
from clue.run_options import positive_int
from clue.script_values import one_line

ENTRYPOINT = {"tgi": ["/tgi-entrypoint.sh"], "vllm": ["vllm", "serve"]}  # the images' own entrypoints
SERVER_PORT = 8080
KIT_IMAGE = "clue-kit:0.1.0"  # `make docker-build`; push it to the cluster's registry


@dataclass(frozen=True)
class K8sOptions:
    pvc: str = "clue-results"
    mount: str = "/results"
    hf_secret: str = "hf-token"
    hf_secret_key: str = "HF_TOKEN"
    hf_cache_pvc: str | None = None  # else an emptyDir (weights downloaded per pod)
    kit_image: str = KIT_IMAGE
    namespace: str | None = None
    parallelism: int | None = None
    name: str = "clue-reproduce"
    gpu_resource: str = "nvidia.com/gpu"
    shm: str = "16Gi"

    def __post_init__(self) -> None:
        for name in ("pvc", "mount", "hf_secret", "hf_secret_key", "hf_cache_pvc", "kit_image", "namespace", "name", "gpu_resource", "shm"):
            one_line("--" + name.replace("_", "-"), getattr(self, name))  # each goes into the manifest or a pod's shell line


def _case(index_cmds: list[str]) -> str:
    lines = ['case "$JOB_COMPLETION_INDEX" in']
    lines += [f"  {i}) {cmd} ;;" for i, cmd in enumerate(index_cmds)]
    lines += ['  *) echo "no model for index $JOB_COMPLETION_INDEX" >&2; exit 2 ;;', "esac"]
    return "\n".join(lines)


def job(models: list[RosterModel], gpus: int, opts: serving.ServeOptions, ko: K8sOptions, reproduce_args: list[str]) -> dict[str, Any]:
    """One Indexed Job: index i serves and evaluates models[i]."""
    sopts = serving.ServeOptions(**{**opts.__dict__, "port": SERVER_PORT})
    server_cmds = ["exec " + shlex.join([*ENTRYPOINT[opts.engine], *serving.server_args(m, sopts, host="0.0.0.0")]) for m in models]
    runs = f"{ko.mount}/runs"
    eval_cmds = []
    for m in models:
        argv = ["python", "-m", "clue.reproduce", "--no-serve", "--no-report", "--models", m.name, "--engine", opts.engine,
                "--port", str(SERVER_PORT), "--runs", runs, "--store", f"{runs}/{m.slug}/store.sqlite",
                "--data-dir", f"{ko.mount}/data", *reproduce_args]
        eval_cmds.append(f"mkdir -p {shlex.quote(f'{runs}/{m.slug}')} && exec " + shlex.join(argv))
    labels = {"app.kubernetes.io/name": "clue-kit", "app.kubernetes.io/component": "reproduce", "clue-kit/gpus": str(gpus)}
    gpu = {ko.gpu_resource: str(gpus)}
    cache_volume: dict[str, Any] = ({"name": "hf-cache", "persistentVolumeClaim": {"claimName": ko.hf_cache_pvc}} if ko.hf_cache_pvc
                                    else {"name": "hf-cache", "emptyDir": {}})
    server: dict[str, Any] = {
        "name": "server", "image": opts.image_ref, "restartPolicy": "Always",
        "command": ["/bin/sh", "-c", _case(server_cmds)],
        "env": [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": ko.hf_secret, "key": ko.hf_secret_key, "optional": True}}},
],
        "ports": [{"containerPort": SERVER_PORT, "name": "http"}],
        "resources": {"limits": dict(gpu), "requests": dict(gpu)},
        "startupProbe": {"httpGet": {"path": "/health", "port": SERVER_PORT}, "periodSeconds": 10,
                         "failureThreshold": max(1, int(opts.health_timeout_s // 10))},
        "volumeMounts": [{"name": "hf-cache", "mountPath": serving.CACHE_MOUNT[opts.engine]}, {"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if opts.engine == "vllm":
        server["env"] += [{"name": "VLLM_NO_USAGE_STATS", "value": "1"}, {"name": "DO_NOT_TRACK", "value": "1"}]
    evaluator = {
        "name": "evaluator", "image": ko.kit_image, "command": ["/bin/sh", "-c", _case(eval_cmds)],
        "volumeMounts": [{"name": "results", "mountPath": ko.mount}],
        "resources": {"requests": {"cpu": "2", "memory": "4Gi"}},
    }
    metadata: dict[str, Any] = {"name": f"{ko.name}-g{gpus}", "labels": labels}
    if ko.namespace:
        metadata["namespace"] = ko.namespace
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
        "spec": {
            "completionMode": "Indexed", "completions": len(models), "parallelism": ko.parallelism or len(models),
            "backoffLimitPerIndex": 1,  # a retried index resumes from its store: only unanswered requests are sent
            "template": {
                "metadata": {"labels": dict(labels), "annotations": {"clue-kit/models": json.dumps([m.name for m in models])}},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"fsGroup": 10001},  # the kit image runs as uid 10001
                    "initContainers": [server], "containers": [evaluator],
                    "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": ko.pvc}}, cache_volume,
                                {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": ko.shm}}],
                },
            },
        },
    }


def manifests(models: list[RosterModel], opts: serving.ServeOptions, ko: K8sOptions, reproduce_args: list[str]) -> list[dict[str, Any]]:
    if not models:
        raise ConfigError("no models selected", "pass --models NAME (see `clue models`)")
    groups: dict[int, list[RosterModel]] = {}
    for m in models:
        m.require_hf_id()
        groups.setdefault(opts.num_shard or m.num_shard, []).append(m)
    return [job(group, gpus, opts, ko, reproduce_args) for gpus, group in sorted(groups.items())]


def to_yaml(docs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, width=120)


def validate(doc: dict[str, Any]) -> None:
    """Raise ValueError unless `doc` is a V1Job exactly as the official client models it (needs the `k8s` extra)."""
    from kubernetes import client

    api = client.ApiClient()
    obj = api.deserialize(json.dumps(doc), "V1Job", "application/json")  # raises ValueError on a missing required field
    back = api.sanitize_for_serialization(obj)
    if back != doc:
        raise ValueError(f"fields not in the Kubernetes models or changed by them: {_diff(doc, back)}")


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _diff(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [path or "."]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("k8s", help="Kubernetes: write Indexed Job manifests (one index per roster model)")
    actions = p.add_subparsers(dest="k8s_action", required=True)
    m = actions.add_parser("manifest", help="write the manifests (YAML) to stdout or --out",
                           allow_abbrev=False)  # --hf-cache (a host folder, docker only) must not pass as --hf-cache-pvc
    m.add_argument("--models", default="", help="roster names, space- or comma-separated (default: every model with an hf_id)")
    m.add_argument("--out", default=None, help="write here instead of stdout")
    m.add_argument("--pvc", default="clue-results", help="PersistentVolumeClaim for runs and data (default clue-results)")
    m.add_argument("--mount", default="/results", help="where the claim is mounted (default /results)")
    m.add_argument("--hf-secret", default="hf-token", help="Secret holding the Hugging Face token (default hf-token, key HF_TOKEN)")
    m.add_argument("--hf-cache-pvc", default=None, help="claim for the Hugging Face cache (default: emptyDir per pod)")
    m.add_argument("--kit-image", default=KIT_IMAGE, help=f"the kit's image in your registry (default {KIT_IMAGE})")
    m.add_argument("--namespace", default=None)
    m.add_argument("--parallelism", type=positive_int("leave it out to run every pod at once"), default=None,
                   help="pods at once per Job (default: all)")
    m.add_argument("--no-validate", action="store_true", help="skip the check against the kubernetes client's models")
    m.add_argument("reproduce_args", nargs="*", help="after --: extra python -m clue.reproduce options (e.g. --tasks mednli)")
    serving.add_options(m, host=False)  # the pods start their own server: host-only (docker) options do not apply


def cmd_k8s(args: argparse.Namespace) -> int:
    from pathlib import Path

    opts = serving.options_from(args)
    ko = K8sOptions(pvc=args.pvc, mount=args.mount.rstrip("/") or "/", hf_secret=args.hf_secret, hf_cache_pvc=args.hf_cache_pvc,
                    kit_image=args.kit_image, namespace=args.namespace, parallelism=args.parallelism)
    docs = manifests(load_roster(args.roster).select(args.models), opts, ko, list(args.reproduce_args))
    if not args.no_validate:
        try:
            for doc in docs:
                validate(doc)
        except ImportError:
            raise ConfigError("the kubernetes client is not installed (needed to validate)",
                              "pip install 'clue-kit[k8s]', or pass --no-validate") from None
    text = to_yaml(docs)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"clue: {len(docs)} Job(s) for {sum(d['spec']['completions'] for d in docs)} model(s) written to {args.out}")
    else:
        print(text, end="")
    return 0
