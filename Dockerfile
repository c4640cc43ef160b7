# clue-kit's own image: the CLI against any inference endpoint, e.g.
#   docker build -t clue-kit:0.1.0 .                      (make docker-build)
#   docker run --rm --network host -v "$PWD/data:/work/data:ro" -v "$PWD/runs:/work/runs" \
#     clue-kit:0.1.0 run --engine tgi --endpoint http://127.0.0.1:8080 --model meta-llama/Meta-Llama-3-8B-Instruct
# Optional metric stacks: --build-arg EXTRAS=bertscore (torch + transformers) or EXTRAS=bertscore,umls.
# Pin the base by digest when you build for a record (docker buildx imagetools inspect python:3.11.15-slim-trixie).
# No registry: BASE = any image with Python >= 3.11 and its venv module, e.g. the local Debian root of
# scripts/podman-local.py (make images DOCKER=podman; the kit's dependencies still come from PyPI).
ARG BASE=python:3.11.15-slim-trixie
FROM ${BASE}

ARG EXTRAS=""
# scispaCy's model is not on PyPI; installed only when EXTRAS names umls
ARG SCISPACY_MODEL=https://s3-us-west-2.amazonaws.com/ai2-s2-scispacy/releases/v0.5.4/en_core_sci_sm-0.5.4.tar.gz

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    HF_HOME=/home/clue/.cache/huggingface \
    SCISPACY_CACHE=/home/clue/.scispacy \
    CLUE_STORE=/work/.clue/store.sqlite \
    VIRTUAL_ENV=/opt/clue-kit/venv \
    PATH=/opt/clue-kit/venv/bin:$PATH

RUN groupadd --system --gid 10001 clue \
    && useradd --system --uid 10001 --gid clue --create-home --home-dir /home/clue --shell /usr/sbin/nologin clue

WORKDIR /opt/clue-kit
COPY pyproject.toml constraints.txt README.md ./
COPY clue ./clue
# Into a virtual environment (PATH above), never the base's own Python (Debian's is externally managed).
# DL3013: the local project is installed with every dependency pinned by constraints.txt; the model URL is versioned
# hadolint ignore=DL3013
RUN python3 -c 'import sys; assert sys.version_info >= (3, 11), "clue-kit needs Python >= 3.11 in BASE"' \
    && python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir -c constraints.txt ".${EXTRAS:+[$EXTRAS]}" \
    && case ",${EXTRAS}," in *,umls,*) pip install --no-cache-dir "${SCISPACY_MODEL}" ;; esac \
    && clue --version

WORKDIR /work
RUN chown 10001:10001 /work
USER 10001:10001
ENTRYPOINT ["clue"]
CMD ["--help"]
