"""One evaluation run, end to end: samples → requests → runner → post-processing → scores → files.

Writes into the run directory: `samples.jsonl` (one line per evaluated sample), `scores.json`
(task scores, percent) and `run.json` (provenance). Data flows one way; the response store is
the only shared state, which is what makes re-running the same command resume for free.

The stages overlap where nothing depends on their order: requests go out as their prompts render
(`Task.building`, taken by the runner a batch at a time), completions are post-processed and scored
as they land by a forked worker (clue/live_scores.py), and the files come out the same as if each
stage had waited for the one before.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from clue import parsed_cache, rundir
from clue.chat_template import ChatTemplate
from clue.concurrency import Gate
from clue.data.check import check_run_data
from clue.engines import Engine, make_engine
from clue.errors import EndpointError, UserError
from clue.files import write_atomic
from clue.live_scores import LiveScorer
from clue.provenance import prefetch_environment
from clue.run_config import RunConfig
from clue.run_options import failure_limit
from clue.run_record import parameter_record, run_record, with_environment
from clue.runlock import RunDirLock
from clue.runner import Runner
from clue.secrets import redact
from clue.store import Store
from clue.task_scores import score_task
from clue.tasks import BuildContext, Built, Split, Task
from clue.types import Completion, Endpoint, Request


@dataclass
class RunResult:
    out: Path
    scores: dict[str, Any]
    stats: dict[str, Any]
    failed_ok: bool  # failures within --max-failures
    plan: dict[str, Any] | None = None  # --dry-run: per task, requests / cached / to send / prompt characters


def _warm(tasks: list[Task], profile: Any = None, scorer: LiveScorer | None = None) -> threading.Thread:
    """Tasks' `warm()` in a thread: their scorers' imports overlap the requests in flight (`make bench`: ~0.4 s of a
    1,000-item MeQSum run) — except a task the live scorer's worker scores, which this process never scores. A failure
    there is left for scoring to meet and report in the usual way."""

    def work() -> None:
        for task in tasks:
            try:
                if scorer is None or not task.scores_item_by_item(profile):
                    task.warm()
            except Exception:  # noqa: BLE001, S110 — scoring imports again and says what is wrong
                pass

    thread = threading.Thread(target=work, name="clue-warm-scorers", daemon=True)
    thread.start()
    return thread


def _landed(scorer: LiveScorer | None) -> Callable[[Sequence[tuple[Request, Completion]]], None]:
    """What the run does with the completions of each turn of the event loop as they land: the live scorer gets them,
    and each request's prompt hash (a line of samples.jsonl names it; ~10 ms over 1,000 chat requests) is computed
    now, while others are out, rather than after the last answer."""
    def landed(pairs: Sequence[tuple[Request, Completion]]) -> None:
        for request, _ in pairs:
            request.prompt_hash  # noqa: B018 — a cached property: computed here, read when the lines are made
        if scorer is not None:
            scorer.feed(pairs)

    return landed


def _renders(cfg: RunConfig) -> bool:
    """The kit renders the prompt itself: TGI's native route, or the OpenAI completions route."""
    return cfg.engine == "tgi" or (cfg.engine in ("openai", "azure") and cfg.route == "completions")


def _resolve_template(cfg: RunConfig, revision: str | None) -> ChatTemplate | None:
    if not _renders(cfg) or cfg.mode == "base":
        return None
    if cfg.chat_template:
        return ChatTemplate.from_file(cfg.chat_template)
    return ChatTemplate.from_hub(cfg.model, revision, token=os.environ.get("HF_TOKEN") or None)


def _check_model(cfg: RunConfig, info: dict[str, Any]) -> None:
    served = info.get("model_id")
    if cfg.engine == "tgi" and served and served != cfg.model:
        raise EndpointError(f"TGI at {cfg.endpoint} serves {served!r}, not {cfg.model!r}", "fix --model or start the right model")
    sha = info.get("model_sha")
    if cfg.engine == "tgi" and cfg.revision and sha and sha != cfg.revision:
        raise EndpointError(f"TGI at {cfg.endpoint} serves revision {sha}, not {cfg.revision}", "fix --revision or restart the server pinned to it")


class Evaluation:
    """Holds a run's loaded data and engine; `run()` does the rest."""

    def __init__(self, cfg: RunConfig):
        from clue.phi import check_endpoint

        # PHI guard, before any data is read or request sent: credentialed data stays on loopback endpoints
        check_endpoint(cfg.tasks, None if cfg.engine == "baseline" else cfg.endpoint, allow_remote_phi=cfg.allow_remote_phi)
        self.cfg = cfg
        self.splits: dict[str, Split] = {}
        self.available: dict[str, int] = {}  # evaluated items before --limit
        with parsed_cache.caching(cfg.store_path.parent / "parsed"):  # parsed copies of large sources, beside the store
            self.data_files = check_run_data(cfg.benchmark, cfg.tasks, cfg.data_dir, allow_mismatch=cfg.allow_data_mismatch,
                                             synthetic=cfg.synthetic)  # sha256 of every data file, checked where known
            for task in cfg.tasks:
                split = task.prepare(cfg.data_dir, cfg.profile, cfg.shots, cfg.fewshot_seeds)
                self.available[task.name] = split.n_items
                if cfg.subset is not None:  # clue watch's stratified, power-sized subset (clue/watch_subset.py)
                    split = cfg.subset(task, split)
                elif cfg.limit is not None:
                    split = split.limited(cfg.limit)
                self.splits[task.name] = split
            if cfg.subset is not None:
                cfg.subset.check_tasks()

    def shots(self) -> int | str:
        """The run's few-shot count: --shots, else the tasks' common default k, else "per task" (each task's n_shots)."""
        if self.cfg.shots is not None:
            return self.cfg.shots
        ks = {t.k for t in self.cfg.tasks}
        return ks.pop() if len(ks) == 1 else "per task"

    def _engine(self) -> Engine:
        samples = {(t, s.id): s for t, sp in self.splits.items() for s in sp.evaluated}
        shots = {t: sp.shots for t, sp in self.splits.items()}
        return make_engine(self.cfg.engine, endpoint=self.cfg.endpoint, model=self.cfg.model,
                           api_key_env=self.cfg.api_key_env, timeout_s=self.cfg.policy.attempt_timeout_s,
                           tasks={t.name: t for t in self.cfg.tasks}, samples=samples, shots=shots, route=self.cfg.route,
                           prefill=self.cfg.prefill, model_family=self.cfg.model_family,
                           reasoning_effort=self.cfg.reasoning_effort, api_version=self.cfg.api_version)

    def _tokenizer(self, revision: str | None) -> Any:
        cfg = self.cfg
        cuts = cfg.profile.truncation == "cut_document" and _renders(cfg)  # counts prompt tokens (cut_document)
        if not (cuts or any(t.needs_tokenizer for t in cfg.tasks)) or (cfg.engine == "baseline" and not cfg.tokenizer):
            return None  # the baseline needs no model tokenizer; tasks fall back to counting words
        from clue.tokenizer import load_tokenizer

        return load_tokenizer(cfg.model, revision, cfg.tokenizer, token=os.environ.get("HF_TOKEN") or None)

    def _context(self, info: dict[str, Any], template: ChatTemplate | None, identity: str | None = None) -> BuildContext:
        cfg = self.cfg
        send = "prompt" if _renders(cfg) else "messages"
        mode = cfg.mode or "instruct-system"
        mpe = cfg.max_position_embeddings or info.get("max_total_tokens")
        revision = cfg.revision or info.get("model_sha")
        tokenizer = self._tokenizer(revision)
        options = (("reasoning_effort", cfg.reasoning_effort),) if cfg.reasoning_effort else ()
        return BuildContext(endpoint=Endpoint(cfg.engine, cfg.model, revision, identity, options), profile=cfg.profile, mode=mode,
                            send=send, prefill=cfg.prefill and send == "messages",
                            chat_template=template, max_position_embeddings=mpe, temperature=cfg.temperature, seed=cfg.seed,
                            tokenizer=tokenizer, draw_seed=self._draw_seed(),
                            **self._decode_cleanup(tokenizer, revision, template))

    def _decode_cleanup(self, tokenizer: Any, revision: str | None, template: ChatTemplate | None) -> dict[str, Any]:
        """The model's `clean_up_tokenization_spaces` and `tokenizer_class` (whose default applies when the flag
        is unset), needed only where v3 LongHealth decodes cut documents. A loaded chat template already read
        the model's tokenizer_config.json: it is not read again."""
        cfg = self.cfg
        if tokenizer is None or not any(t.decodes_cut_documents(cfg.profile) for t in cfg.tasks):
            return {}
        if template is not None and (template.clean_up_tokenization_spaces is not None or template.tokenizer_class):
            return {"decode_cleanup": template.clean_up_tokenization_spaces, "tokenizer_class": template.tokenizer_class}
        from clue.tokenizer import tokenizer_config

        config = tokenizer_config(cfg.model, revision, tokenizer_path=cfg.tokenizer,
                                  config_path=cfg.chat_template if template is None else None,
                                  token=os.environ.get("HF_TOKEN") or None, hub=template is None)
        flag, klass = config.get("clean_up_tokenization_spaces"), config.get("tokenizer_class")
        return {"decode_cleanup": flag if isinstance(flag, bool) else None,
                "tokenizer_class": klass if isinstance(klass, str) and klass else None}

    def _draw_seed(self) -> int:
        """One random draw per run directory (for unseeded protocol steps), written before any request is sent.

        The v3 LongHealth code drew its documents unseeded; drawing afresh on every invocation would
        make an interrupted run's re-run build new prompts and pay for them again.
        """
        path = self.cfg.out / "draw_seed.json"
        try:
            return int(json.loads(path.read_text())["draw_seed"])
        except (OSError, ValueError, KeyError, TypeError):
            seed = int.from_bytes(os.urandom(4), "big")
            write_atomic(path, json.dumps({"draw_seed": seed, "why": "unseeded protocol steps (v3 LongHealth) reuse it on re-runs"}) + "\n")
            return seed

    async def run(self, scorer: LiveScorer | None = None) -> RunResult:
        """The run; `scorer` (forked before the event loop started) scores completions as they land."""
        cfg = self.cfg
        try:
            cfg.out.mkdir(parents=True, exist_ok=True)
            probe = cfg.out / f".write-test-{os.getpid()}"  # per process: two runs racing here must meet the lock, not each other's probe
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(f"cannot write to the run directory {cfg.out} ({exc.strerror})", "pass --out to a writable directory") from None
        with RunDirLock(cfg.out):  # one run at a time per run directory
            rundir.check_compatible(cfg.out, model=cfg.model, protocol=cfg.profile.name, synthetic=cfg.synthetic, shots=self.shots())
            return await self._run_locked(scorer)

    async def _run_locked(self, scorer: LiveScorer | None) -> RunResult:
        cfg = self.cfg
        for note in cfg.profile.run_notes(cfg.temperature):
            print(f"clue: note: {note}", file=sys.stderr)
        meter = None
        if cfg.max_cost is not None and not cfg.dry_run:
            from clue.budget import CostMeter

            meter = CostMeter.for_model(cfg.max_cost, cfg.model, cfg.prices)
        store = Store(cfg.store_path)
        engine = self._engine()
        started = time.time()
        try:
            try:
                info = await engine.describe()
            except EndpointError as exc:  # a dry run needs no server unless the prompts depend on it
                if not (cfg.dry_run and exc.what.startswith("cannot reach")):
                    raise
                info = {"engine": cfg.engine, "url": cfg.endpoint, "not_reached": exc.what}
                print(f"clue: note: dry run without a server ({exc.what}); the model and its limits were not checked",
                      file=sys.stderr)
            _check_model(cfg, info)
            template = _resolve_template(cfg, cfg.revision or info.get("model_sha"))
            if template is not None:  # what the server said it adds in front of a prompt (BOS), where it was asked
                template = template.for_server((info.get("server") or {}).get("bos"))
            ctx = self._context(info, template, engine.identity())
            self._check_truncate(ctx, info)
            record = run_record(cfg, info, template, ctx, started)
            record["data_files"] = self.data_files
            run_id = store.start_run(str(cfg.out), redact(record)) if not cfg.dry_run else 0
            runner = Runner(engine, store, concurrency=self._gate(info), policy=cfg.policy, progress=cfg.progress,
                            refresh=cfg.refresh, meter=meter, on_landed=_landed(scorer))
            lines: list[dict[str, Any]] = []
            scores: dict[str, Any] = {}
            # requests go out as they render, unless a plan, a cost cap or a batch needs them all before any is sent
            stream = not cfg.dry_run and not cfg.batch and not (meter is not None and cfg.cap_before_sending)
            planned = [(task, task.building(self.splits[task.name], ctx)) for task in cfg.tasks]
            if not stream:
                for task, building in planned:
                    self._note_build(record, task, building.finish())
            if meter is not None and cfg.cap_before_sending:  # clue watch: over the cap → refused, nothing sent
                from clue.budget import refuse_over_cap

                refuse_over_cap([r for _, rs in planned for r in rs], self._estimate_tokenizer(ctx.tokenizer), meter, cfg.model)
            if cfg.batch and not cfg.dry_run:  # OpenAI Batch API: submit, or collect into the store (clue/engines/batch.py)
                from clue.engines.batch import BatchJob

                record["batch"] = await BatchJob(engine, store, cfg.out).settle([r for _, rs in planned for r in rs])
            warming = None if cfg.dry_run else _warm([task for task, _ in planned], cfg.profile, scorer)
            for task, building in planned:
                if cfg.dry_run:
                    break
                split = self.splits[task.name]
                done = await runner.run(building, label=task.title, expected=building.expected)
                requests = building.finish()
                if stream:
                    self._note_build(record, task, requests)
                if warming is not None:
                    warming.join()  # scoring starts once its imports are in (a few ms when requests took longer)
                    warming = None
                task_lines, task_scores = score_task(task, split, requests, done, cfg.profile, cfg.model,
                                                     scorer.collect(task.name) if scorer is not None else None)
                task_scores.update(limit=split.n_items if cfg.subset is not None else cfg.limit, n_available=self.available[task.name])
                lines += task_lines
                scores[task.name] = task_scores
            if scorer is not None:
                scorer.stop()  # every task collected
        finally:
            await engine.close()
        record = with_environment(record)  # run.json and plan.json alike: the environment first
        if cfg.dry_run:
            return self._plan([(task, building.finish()) for task, building in planned], store, record, ctx.tokenizer)
        stats = runner.stats.as_dict()
        fingerprints = engine.fingerprints()
        if fingerprints:  # OpenAI-compatible servers' system_fingerprint values
            record["engine"]["system_fingerprints"] = fingerprints
        limit = failure_limit(cfg.max_failures, stats["requests"])
        record["concurrency"] = runner.gate.describe()
        record.update(finished=time.time(), stats=stats, max_failures=cfg.max_failures,
                      failures_within_limit=stats["failed"] <= limit)
        head = {"benchmark": cfg.benchmark} if cfg.benchmark else {}
        gc.freeze()  # the run's objects live until it ends: GC passes over them while the files are written find nothing (~10 ms)
        try:
            rundir.write(cfg.out, lines, {**head, "model": cfg.model, "protocol": cfg.profile.name, "synthetic": cfg.synthetic,
                                          "limit": cfg.limit, "shots": self.shots(), "tasks": scores}, record)
        finally:
            gc.unfreeze()
        store.finish_run(run_id, redact(record))
        store.close()
        return RunResult(cfg.out, scores, stats, stats["failed"] <= limit)

    def _note_build(self, record: dict[str, Any], task: Task, built: Built) -> None:
        """run.json: how a task drew/truncated (LongHealth's seed and budgets); on OpenAI-compatible engines the model
        family's rules — what is sent, and why."""
        if built.record:
            record.setdefault("task_build", {})[task.name] = built.record
        if self.cfg.engine in ("openai", "azure") and built:
            record.setdefault("request_parameters", {})[task.name] = parameter_record(self.cfg, built)

    def _estimate_tokenizer(self, tokenizer: Any) -> Any:
        """The tokenizer a cost estimate counts with: the run's, else --tokenizer's file, else None (characters / 4)."""
        if tokenizer is None and self.cfg.tokenizer:
            from clue.tokenizer import load_tokenizer

            return load_tokenizer(self.cfg.model, self.cfg.revision, self.cfg.tokenizer)
        return tokenizer

    def _plan(self, planned: list[tuple[Task, list[Request]]], store: Store, record: dict[str, Any], tokenizer: Any) -> RunResult:
        """--dry-run: the exact requests go to requests.jsonl (what a run would send, byte for byte), the
        per-task counts to plan.json; nothing is sent, nothing is scored. The run directory keeps its
        draw seed, so the real run that follows builds the same prompts."""
        from clue.budget import estimate, price_for

        cfg = self.cfg
        tokenizer = self._estimate_tokenizer(tokenizer)
        price = price_for(cfg.model, cfg.prices)
        rows: list[str] = []
        plan: dict[str, Any] = {}
        for task, requests in planned:
            unique = {r.key: r for r in requests}
            hits = {} if self.cfg.refresh else store.get_many(unique)
            cached = len(hits)
            chars = sum(len(r.prompt) if r.prompt is not None else sum(len(m["content"]) for m in r.messages or ())
                        for r in unique.values())
            plan[task.name] = {"title": task.title, "requests": len(unique), "cached": cached,
                               "to_send": len(unique) - cached, "prompt_chars": chars,
                               "estimate": estimate([r for k, r in unique.items() if k not in hits], tokenizer, price)}
            rows += [rundir.json_line({"task": task.name, "sample_id": r.sample_id, "request_key": r.key, "prompt": r.prompt,
                                 "messages": list(r.messages) if r.messages is not None else None,
                                 "params": asdict(r.params)}) for r in requests]
        store.close()
        out = self.cfg.out
        write_atomic(out / "requests.jsonl", "".join(rows))
        written = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_atomic(out / "plan.json", json.dumps({"written": written, "note": "a --dry-run plan; a real run removes it",
                                                     "plan": plan, "run": redact(record)}, indent=2, default=str) + "\n")
        totals = {k: sum(t[k] for t in plan.values()) for k in ("requests", "cached", "to_send")}
        return RunResult(out, {}, totals, True, plan=plan)

    def _gate(self, info: dict[str, Any]) -> Gate:
        """--concurrency fixes the number in flight; otherwise follow the server (its /info limit, else adaptive)."""
        if self.cfg.concurrency is not None:
            return Gate.fixed(self.cfg.concurrency)
        if self.cfg.engine == "baseline":
            return Gate.fixed(32)
        return Gate.for_server(info)

    def _check_truncate(self, ctx: BuildContext, info: dict[str, Any]) -> None:
        limit = info.get("max_input_tokens")
        if not limit:
            return
        for task in self.cfg.tasks:
            t = task.context_limit(ctx)
            if t is not None and t > limit:
                raise EndpointError(
                    f"{task.title} sends prompts of up to {t} tokens (truncation: {ctx.profile.truncation}) but the server accepts "
                    f"at most {limit} input tokens",
                    f"relaunch TGI with --max-input-tokens {t} (or more), as the {ctx.profile.name} protocol requires")

def evaluate(cfg: RunConfig) -> RunResult:
    evaluation = Evaluation(cfg)
    # forked here, before the event loop, the run directory's lock and the store: the worker inherits none of them
    scorer = None if cfg.dry_run else LiveScorer.start(cfg.tasks, evaluation.splits, cfg.profile, cfg.model)
    prefetch_environment()  # the record's environment, computed meanwhile: forked too, before any thread or event loop
    try:
        return asyncio.run(evaluation.run(scorer))
    finally:
        if scorer is not None:
            scorer.close()
