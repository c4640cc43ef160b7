"""Loopback fake inference server for the test suite and benchmarks (stdlib only).

Imitates text-generation-inference (TGI) 3.x and an OpenAI-compatible server closely
enough for the real clients (``huggingface_hub.AsyncInferenceClient`` and
``openai.AsyncOpenAI``) to talk to it, with scripted outputs and injectable faults:

    with FakeServer(responder=OracleResponder({"input": "reference"}), faults={"429": 0.1}) as srv:
        client = AsyncInferenceClient(base_url=srv.url)          # TGI native: POST /
        oai = AsyncOpenAI(base_url=srv.url + "/v1", api_key="k")  # POST /v1/chat/completions
        ...
        assert srv.stats.completed == n_items

Routes: GET /health, GET /info (TGI Info), POST / and /generate (TGI generate), GET /v1/models,
POST /v1/chat/completions, POST /v1/completions (a prompt string), and Azure OpenAI's classic
POST /openai/deployments/{deployment}/(chat/)completions?api-version=… (`api-key` header; no
api-version or an unknown deployment: Azure's 404). ``reasoning=True`` imitates an OpenAI reasoning
model: ``max_tokens``, ``stop`` and a temperature other than 1 are rejected with OpenAI's 400
messages (temperature is accepted with ``reasoning_effort: "none"``); ``max_completion_tokens``
counts ``reasoning_tokens`` (per effort) first, so a small budget answers "" with finish_reason
"length". Every generation body received is kept in ``srv.bodies``. OpenAI's Batch API: POST /v1/files
(multipart upload), POST /v1/batches, GET /v1/batches (the list, newest first), GET /v1/batches/{id} (the batch runs its lines through the
responder on the ``batch_polls``-th look, then is "completed"), GET /v1/files/{id}/content; ``batch_api=False``:
all of these answer 404, like a vLLM or llama.cpp server.
``props=`` answers GET /props like llama.cpp's llama-server; ``tokenizer=LlamaTokenizer(...)`` answers its
POST /tokenize (``content``, ``add_special``, ``with_pieces``), adding a BOS in front or not; with
``vllm_version=`` it answers GET /version and /tokenize the way vLLM does (``prompt``, ``add_special_tokens``,
``return_token_strs``) instead.
Tokens are whitespace-split words. Like TGI, the native generate
routes keep the matched stop sequence at the end of ``generated_text``; the chat route drops it
(OpenAI semantics). ``tgi=False`` imitates a non-TGI server: /info, / and /generate answer 404.
Faults are decided at arrival on the generation routes, before auth and validation, by one
``random.Random(seed)`` draw per request (or by ``fault_plan``). Counters are updated before the
answer is written, so a client that got its answer can assert on ``srv.stats`` at once.

Waiting without a clock: ``srv.wait_until(lambda s: s.completed >= 4, proc, "4 answers")`` returns as soon as
the counters (``Stats``) satisfy the predicate — every change notifies it — and fails the test with that text if
``proc`` (a client subprocess) ends first or a 120 s safety net passes (it never gives up silently).
``answer_limit=N`` answers the first N successful generation requests and holds every later one in flight
(unanswered, no timer) until ``srv.release()``; ``answer_limit=0`` holds them all.

Script mode: ``python tests/fakeserver --port 0 [--oracle map.json] [--model-id ID]
[--latency S] [--api-key K] [--fault KIND=P ...] [--seed N] [--answer-limit N]`` prints ``READY <url>`` and serves
until SIGTERM/SIGINT, then prints one JSON stats line (``python -m tests.fakeserver`` too). Only ever binds 127.0.0.1.

Modules: ``controller`` (FakeServer, Stats, main), ``handler`` (routing, the shared generation routes, faults),
``openai_routes`` (Batch API, Azure, reasoning models), ``tokenizer`` (LlamaTokenizer, /tokenize), ``base`` (HTTP
plumbing, auth), ``errors`` (fault kinds and error bodies), ``responders`` (responders and the word-token rules).
"""

from .controller import HOST, FakeServer, Stats, main
from .errors import FAULT_KINDS
from .responders import OracleResponder, Responder, _chat_text, constant_responder, echo_responder
from .tokenizer import LlamaTokenizer

__all__ = ["FAULT_KINDS", "HOST", "FakeServer", "LlamaTokenizer", "OracleResponder", "Responder", "Stats", "_chat_text",
           "constant_responder", "echo_responder", "main"]
