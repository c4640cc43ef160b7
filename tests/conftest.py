"""Shared fixtures. Tests never touch the network beyond loopback and never download anything."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MEQSUM_XLSX = SHARED / "data" / "meqsum" / "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"
CHAT_TEMPLATES = SHARED / "data" / "chat-templates"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def real_meqsum_dir(tmp_path: Path) -> Path:
    """A data dir holding the real MeQSum file from ../shared (skips when absent)."""
    if not MEQSUM_XLSX.is_file():
        pytest.skip("real MeQSum file not present in ../shared/data/meqsum")
    target = tmp_path / "data" / "meqsum"
    target.mkdir(parents=True)
    shutil.copy(MEQSUM_XLSX, target / MEQSUM_XLSX.name)
    return tmp_path / "data"


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    from clue.benchmarks.clue.synthetic import materialize

    return materialize(tmp_path / "synthetic")


def chat_template_file(tmp_path: Path, name: str = "meta-llama--Meta-Llama-3-8B-Instruct.json") -> Path:
    """A tokenizer_config.json made from a shared chat-template fixture (or a built-in Llama-3 one)."""
    src = CHAT_TEMPLATES / name
    if src.is_file():
        config = json.loads(src.read_text())
    else:  # keep tests runnable without ../shared: the mid-2024 Llama-3 template
        config = {"chat_template": LLAMA3_TEMPLATE, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    path = tmp_path / f"tokenizer_config-{name}"
    path.write_text(json.dumps({k: config[k] for k in ("chat_template", "bos_token", "eos_token")}))
    return path


LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


def until(predicate: Callable[[], object], what: str, proc: subprocess.Popen | None = None,
          safety_net_s: float = 120.0) -> None:
    """Wait for a condition another process makes true (a line in a file, a row in its store), re-checked every
    50 ms: for state that cannot notify this process (the fake server's own ``wait_until`` is woken instead).
    Fails the test, naming `what`, if `proc` exits first or the safety net passes: it never gives up silently."""
    give_up = time.monotonic() + safety_net_s
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"waiting for {what}: the process exited ({proc.returncode}) first")
        if time.monotonic() > give_up:
            raise AssertionError(f"waiting for {what}: not reached in {safety_net_s:g} s (safety net)")
        threading.Event().wait(0.05)


def run_clue(*args: str, env: dict | None = None, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m clue …` in a subprocess (no network; progress bars off)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_"))}
    full_env.update({"HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": str(ROOT)})
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "clue", *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=cwd or ROOT)


@pytest.fixture(autouse=True)
def _no_heavy_metrics(monkeypatch):
    """BERTScore and UMLS F1 are optional stacks; tests that exercise them unset this themselves."""
    monkeypatch.setenv("CLUE_SKIP_METRICS", "bertscore,umls")


def byte_bpe(corpus: list[str], vocab_size: int = 600):
    """A small byte-level BPE trained on `corpus` that adds a BOS like Llama's (decode round-trips any text)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>"], show_progress=False,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok
