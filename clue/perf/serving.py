"""Inference-side figures: saturation, client overhead, sequential baseline, resume.

"Ours" is the whole client path of `clue run`: MeQSum-sized samples rendered by the real task
(Jinja prompts + a Llama-3 chat template) → `Runner` (dedup, cache lookup, retries, progress
bookkeeping) → a real engine (`tgi` through huggingface_hub, or `openai`) → `Store` (SQLite,
each completion written as it lands). The server runs in another process, so the CPU time
measured here (`time.process_time`) is the client's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from clue.perf.server import MODEL_ID, BenchServer, ServerConfig, output_tokens

LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
          "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
          "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
WORDS = ("pain headache fever cough doctor medicine dose tablet daily chronic acute symptom treatment blood pressure "
         "heart diabetes insulin allergy rash infection antibiotic surgery recovery weeks months years my mother "
         "father son daughter has been taking since diagnosed with what is the best way to manage how long should "
         "can I is it safe side effects of after before during pregnancy child adult elderly test result normal").split()


def meqsum_samples(n: int, seed: int = 7) -> list[Any]:
    """`n` + 3 invented MeQSum-sized samples (inquiry ~60–120 words, summary ~10–15 words)."""
    from clue.types import Sample

    rng = random.Random(seed)
    out = []
    for i in range(n + 3):
        chq = " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 120))) + f" (case {i})?"
        summary = "What is " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 13))) + "?"
        out.append(Sample(id=str(i), fields={"CHQ": chq, "Summary": summary}, reference=summary))
    return out


def build_requests(engine: str, n: int, seed: int = 7, samples: list[Any] | None = None) -> list[Any]:
    """Render `n` MeQSum requests with the real task (3 shots), as `clue run` does."""
    from clue.benchmarks.clue.protocol import get_profile
    from clue.benchmarks.clue.tasks import TASKS
    from clue.chat_template import ChatTemplate
    from clue.tasks import BuildContext
    from clue.types import Endpoint

    task = TASKS["meqsum"]
    profile = get_profile("clue-v3")
    split = task.split(samples if samples is not None else meqsum_samples(n, seed), profile)
    template = ChatTemplate.from_config({"chat_template": LLAMA3, "bos_token": "<|begin_of_text|>"}, source="bench")
    ctx = BuildContext(endpoint=Endpoint(engine, MODEL_ID, "b" * 40), profile=profile, mode="instruct-system",
                       send="prompt" if engine == "tgi" else "messages", chat_template=template if engine == "tgi" else None,
                       max_position_embeddings=8192)
    return task.build(split, ctx)[:n]


def _engine(kind: str, url: str) -> Any:
    from clue.engines import make_engine

    return make_engine(kind, endpoint=url + ("/v1" if kind == "openai" else ""), model=MODEL_ID)


async def _run_ours(kind: str, url: str, n: int, concurrency: int | None, store_path: Path, seed: int = 7) -> dict[str, Any]:
    """`concurrency` None: the default of `clue run` (follow the server, clue/concurrency.py)."""
    from clue.concurrency import Gate
    from clue.runner import Runner
    from clue.store import Store

    samples = meqsum_samples(n, seed)  # the dataset is given; rendering it is ours and timed
    engine = _engine(kind, url)  # imports and client set-up happen once per run, not per request
    gate = Gate.for_server(await engine.describe()) if concurrency is None else Gate.fixed(concurrency)
    cpu0, t0 = time.process_time(), time.perf_counter()
    requests = build_requests(kind, n, seed, samples)
    t_built = time.perf_counter()
    store = Store(store_path)
    runner = Runner(engine, store, concurrency=gate, progress=True)
    t_run = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the progress bar's bookkeeping is paid, its drawing hidden
        done = await runner.run(requests, label="bench")
    t_end = time.perf_counter()
    await engine.close()
    store.close()
    cpu = time.process_time() - cpu0
    assert len(done) == n and runner.stats.failed == 0, runner.stats.as_dict()
    return {"wall_s": t_end - t0, "run_wall_s": t_end - t_run, "build_s": t_built - t0, "cpu_s": cpu,
            "sent": runner.stats.sent, "cached": runner.stats.cached, "requests": runner.stats.requests,
            "gate": gate.describe()}


async def _run_bare(url: str, items: list[Any], concurrency: int, max_new_tokens: int, lean: bool = False,
                    direct: bool = False) -> dict[str, Any]:
    """The floor: one httpx2 client (its default pool, or the kit's lean transport), a semaphore, POST,
    parse the JSON. No render, no store, no retries, no progress. `items`: rendered prompts (TGI's
    POST /generate) or message lists (POST /v1/chat/completions, as the openai engine sends them).
    `direct`: the same loop on exactly what the engines post through (`DirectPost` over the lean
    transport, no httpx2 client objects)."""
    import json

    import httpx2

    from clue.engines.transport import LeanTransport

    def request(item: Any) -> tuple[str, dict[str, Any]]:
        if isinstance(item, str):
            return url + "/generate", {"inputs": item, "parameters": {"max_new_tokens": max_new_tokens}}
        return url + "/v1/chat/completions", {"model": MODEL_ID, "messages": [dict(m) for m in item], "max_tokens": max_new_tokens}

    def text(payload: dict[str, Any]) -> str:
        return payload["generated_text"] if "generated_text" in payload else payload["choices"][0]["message"]["content"]

    cpu0, t0 = time.process_time(), time.perf_counter()
    sem = asyncio.Semaphore(concurrency)
    if direct:
        transport = LeanTransport()
        poster = transport.direct({})

        async def post(item: Any) -> str:
            async with sem:
                target, body = request(item)
                answer = await poster.post(target, json.dumps(body).encode(), None)
                assert answer is not None and answer[0] == 200
                return text(json.loads(answer[2]))

        done = await asyncio.gather(*(post(i) for i in items))
        await transport.aclose()
        assert len(done) == len(items)
        return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0}
    async with httpx2.AsyncClient(timeout=None, transport=LeanTransport() if lean else None) as client:

        async def one(item: Any) -> str:
            async with sem:
                target, body = request(item)
                resp = await client.post(target, json=body)
                resp.raise_for_status()
                return text(resp.json())

        out = await asyncio.gather(*(one(i) for i in items))
    assert len(out) == len(items)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0}


async def _run_bare_openai(url: str, conversations: list[Any], concurrency: int, max_tokens: int) -> dict[str, Any]:
    """The OpenAI SDK alone (same lean transport, a semaphore, chat.completions.create): its own per-request cost."""
    import openai

    from clue.engines.transport import LeanTransport

    cpu0, t0 = time.process_time(), time.perf_counter()
    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="bench", max_retries=0,
                                http_client=openai.DefaultAsyncHttpxClient(transport=LeanTransport()))
    sem = asyncio.Semaphore(concurrency)

    async def one(messages: Any) -> str:
        async with sem:
            resp = await client.chat.completions.create(model=MODEL_ID, messages=[dict(m) for m in messages],  # type: ignore[misc]
                                                        max_tokens=max_tokens)
            return resp.choices[0].message.content or ""

    out = await asyncio.gather(*(one(m) for m in conversations))
    await client.close()
    assert len(out) == len(conversations)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def saturation(n: int, concurrency: int, latency_s: float, per_token_s: float = 0.0, repeats: int = 3) -> dict[str, Any]:
    """Wall time of the runner ÷ ideal (N × latency ÷ concurrency; per-token: Σ latency ÷ concurrency)."""
    cfg = ServerConfig(latency_s=latency_s, per_token_s=per_token_s)
    requests = build_requests("tgi", n)
    if per_token_s:
        lat = [latency_s + per_token_s * output_tokens(r.prompt, r.params.max_new_tokens) for r in requests]
        ideal = max(sum(lat) / concurrency, max(lat))
    else:
        ideal = n * latency_s / concurrency
    runs, floor = [], []
    with BenchServer(cfg) as srv, tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            srv.reset()
            r = asyncio.run(_run_ours("tgi", srv.url, n, concurrency, Path(tmp) / f"s{i}.sqlite"))
            r["server"] = srv.stats()
            runs.append(r)
            # the floor on this machine: the leanest client we have (no render, store, retries) on the same server
            floor.append(asyncio.run(_run_bare(srv.url, [r.prompt for r in requests], concurrency, 200, lean=True)))
    wall, floor_s = _median(runs, "run_wall_s"), _median(floor, "wall_s")
    # The server's own observed latency (request read → answer written), summed: what it really
    # delivered on this machine, timer overshoot and its own CPU included. Ideal on that figure
    # separates the client's share of the gap from the server's.
    served_ideal = statistics.median(r["server"]["service_s"] / concurrency for r in runs)
    return {"observed_ideal_s": served_ideal, "ratio_to_observed_ideal": wall / served_ideal if served_ideal else None,
            "server_latency_ratio": served_ideal / ideal,
            "n": n, "concurrency": concurrency, "latency_s": latency_s, "per_token_s": per_token_s, "ideal_s": ideal,
            "wall_s": wall, "ratio": wall / ideal, "bare_loop_s": floor_s, "bare_loop_ratio": floor_s / ideal,
            "ratio_to_bare_loop": wall / floor_s, "max_in_flight": runs[0]["server"]["max_in_flight"],
            "cpu_ms_per_request": 1000 * _median(runs, "cpu_s") / n, "repeats": [r["run_wall_s"] for r in runs]}


def overhead(n: int, concurrency: int, engines: tuple[str, ...] = ("tgi", "openai"), repeats: int = 3) -> dict[str, Any]:
    """Zero-latency server: requests/s and client CPU per request, ours (render + store included) vs bare loops
    on the same route (TGI /generate for the tgi engine, chat completions for the openai engine)."""
    out: dict[str, Any] = {"n": n, "concurrency": concurrency}

    def bare(items: list[Any], **how: bool) -> dict[str, float]:
        runs = [asyncio.run(_run_bare(srv.url, items, concurrency, 200, **how)) for _ in range(repeats)]
        return {"req_per_s": n / _median(runs, "wall_s"), "cpu_ms_per_request": 1000 * _median(runs, "cpu_s") / n}

    with BenchServer(ServerConfig()) as srv, tempfile.TemporaryDirectory() as tmp:
        routes = {"tgi": [r.prompt for r in build_requests("tgi", n)], "openai": [r.messages for r in build_requests("openai", n)]}
        out["bare"] = bare(routes["tgi"])  # httpx2's own pool: what the transport replaced
        conversations = routes["openai"]
        sdk = [asyncio.run(_run_bare_openai(srv.url, conversations, concurrency, 200)) for _ in range(repeats)]
        out["bare_openai_sdk"] = {"req_per_s": n / _median(sdk, "wall_s"), "cpu_ms_per_request": 1000 * _median(sdk, "cpu_s") / n}
        for kind in engines:
            lean, raw = bare(routes[kind], lean=True), bare(routes[kind], lean=True, direct=True)
            runs = [asyncio.run(_run_ours(kind, srv.url, n, concurrency, Path(tmp) / f"{kind}{i}.sqlite")) for i in range(repeats)]
            ours: dict[str, Any] = {"req_per_s": n / _median(runs, "wall_s"), "cpu_ms_per_request": 1000 * _median(runs, "cpu_s") / n,
                    "build_ms_per_request": 1000 * _median(runs, "build_s") / n,
                    "bare_lean": lean, "bare_direct": raw}
            ours["share_of_bare"] = ours["req_per_s"] / out["bare"]["req_per_s"]
            ours["share_of_bare_lean"] = ours["req_per_s"] / lean["req_per_s"]
            ours["cpu_vs_bare_lean"] = ours["cpu_ms_per_request"] / lean["cpu_ms_per_request"]
            ours["share_of_bare_direct"] = ours["req_per_s"] / raw["req_per_s"]
            out[kind] = ours
        out["bare_lean"] = out["tgi"]["bare_lean"] if "tgi" in out else None  # the TGI route's, for older readers of the JSON
    return out


def sequential(n: int, concurrency: int, latency_s: float) -> dict[str, Any]:
    """The same `n` requests one at a time (how the original CLUE scripts ran) and at `concurrency`."""
    with BenchServer(ServerConfig(latency_s=latency_s)) as srv, tempfile.TemporaryDirectory() as tmp:
        one = asyncio.run(_run_ours("tgi", srv.url, n, 1, Path(tmp) / "seq.sqlite"))
        many = asyncio.run(_run_ours("tgi", srv.url, n, concurrency, Path(tmp) / "par.sqlite"))
    return {"n": n, "latency_s": latency_s, "sequential_s": one["wall_s"], "concurrent_s": many["wall_s"],
            "concurrency": concurrency, "speedup": one["wall_s"] / many["wall_s"]}


def resume(n: int, concurrency: int) -> dict[str, Any]:
    """Finish an `n`-request run, then re-run it: nothing may be sent; render + lookups only."""
    with BenchServer(ServerConfig()) as srv, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "resume.sqlite"
        first = asyncio.run(_run_ours("tgi", srv.url, n, concurrency, store))
        before = srv.stats()["served"]
        again = asyncio.run(_run_ours("tgi", srv.url, n, concurrency, store))
        sent = srv.stats()["served"] - before
    return {"n": n, "first_run_s": first["wall_s"], "rerun_s": again["wall_s"], "rerun_build_s": again["build_s"],
            "requests_sent": sent, "runner_sent": again["sent"], "cached": again["cached"]}


# (label, engine, the server's /info states its limit, the server refuses beyond `limit`, what it stands for)
BATCHING_SCENARIOS = (
    ("tgi", "tgi", True, True, "TGI: /info states its limit, 429 beyond it"),
    ("openai_tgi", "openai", True, True, "TGI's OpenAI route: the limit found in /info"),
    ("openai", "openai", False, False, "vLLM-like: no stated limit, queues beyond its batch"),
    ("openai_refuse", "openai", False, True, "a proxy's hidden limit: no stated limit, 429 beyond it"),
)


def batching(n: int, batch_cap: int, step_s: float, step_growth: float, tokens: int, advertise: int,
             fixed: tuple[int, ...], scenarios: tuple[str, ...] | None = None,
             hidden_limit: int | None = None) -> dict[str, Any]:
    """A continuously batching server (clue/perf/server.py): `clue run`'s default concurrency vs fixed ones.

    Scenarios (BATCHING_SCENARIOS): the server states its limit (`advertise`) in /info or not, and refuses
    beyond its limit (429) or queues. `hidden_limit` (default `advertise`) is the refusal limit when none is
    stated. Throughput = n ÷ the runner's wall time; refused = 429s the server sent."""
    hidden = hidden_limit or advertise
    wanted = scenarios if scenarios is not None else [row[0] for row in BATCHING_SCENARIOS]
    out: dict[str, Any] = {"n": n, "batch_cap": batch_cap, "step_s": step_s, "step_growth": step_growth, "tokens": tokens,
                           "advertised": advertise, "hidden_limit": hidden, "fixed": list(fixed)}
    with tempfile.TemporaryDirectory() as tmp:
        for label, kind, info, refuse, what in BATCHING_SCENARIOS:
            if label not in wanted:
                continue
            limit = advertise if info else hidden
            cfg = ServerConfig(fixed_tokens=tokens, batch_cap=batch_cap, step_s=step_s, step_growth=step_growth,
                               advertise=limit, refuse_above=refuse, info=info)
            rows: dict[str, Any] = {}
            # a server that refuses: fixed numbers above its limit lose requests to repeated 429s (not a setting anyone
            # would keep); its own limit is the best a user who knew it could fix
            candidates = sorted({f for f in fixed if f <= limit} | {limit}) if refuse else sorted(fixed)
            with BenchServer(cfg) as srv:
                for run in ["default", *map(str, candidates)]:
                    srv.reset()
                    r = asyncio.run(_run_ours(kind, srv.url, n, None if run == "default" else int(run), Path(tmp) / f"{label}{run}.sqlite"))
                    server = srv.stats()
                    rows[run] = {"req_per_s": n / r["run_wall_s"], "max_in_flight": server["max_in_flight"],
                                 "refused": server["refused"], "gate": r["gate"]}
            best = max((k for k in rows if k != "default"), key=lambda k: rows[k]["req_per_s"])
            out[label] = {"engine": kind, "what": what, "states_limit": info, "refuses": refuse, "limit": limit,
                          "runs": rows, "best_fixed": int(best),
                          "default_share_of_best": rows["default"]["req_per_s"] / rows[best]["req_per_s"],
                          "default_max_in_flight": rows["default"]["max_in_flight"], "default_refused": rows["default"]["refused"]}
    return out
