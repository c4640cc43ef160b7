"""OpenAI's Batch API for hosted runs (`clue run --batch`): JSONL upload, one batch, results later.

Batches cost half and finish within 24 h, so a batch run spans invocations:
  1st: the requests not yet in the store go into one JSONL file (`custom_id` = the request key,
       the body exactly as the live route would send it: same model-family rules), which is uploaded
       and submitted; the batch id is kept in `<run dir>/batch.json` and the command exits (status 75).
  next: the same command asks for the batch's status; when it has ended its results go into the same
       store as live answers, and the run is scored. Items the batch failed are not resubmitted: the
       runner sends them live (counted and reported as usual).
Only the OpenAI API itself (and compatible ones that implement /v1/files and /v1/batches) has this.

Never paid twice: every batch carries a tag in its metadata (`clue_kit_tag`: a digest of the route and the
request keys it holds); batch.json is written atomically before the submission (the tag) and right after it
(the id). A re-run that has no batch id — batch.json lost, or a crash between the paid submission and the
write — first looks for a batch with its tag in the account's batch list, and submits only when there is
none (or only a failed, expired or cancelled one). Every error is one line (`BatchError`), a damaged batch.json
included; a server without the Batch API is told apart from a wrong --model.

Each line is `openai_body.batch_line` with the engine's own generation fields (`engine.body`), so a
batched request is byte for byte the live one. The upload and the batch objects go through the
official OpenAI SDK (`engine.sdk_client()`, imported only here: the multipart upload and the typed
batch objects are what it is made for, and a batch run sends a handful of calls, not one per item).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from clue.engines import openai_body
from clue.errors import UserError
from clue.files import write_atomic
from clue.store import Store
from clue.types import Completion, Request

STATE = "batch.json"
ENDED = ("completed", "failed", "expired", "cancelled")
NOT_REUSED = ("failed", "expired", "cancelled", "cancelling")  # a tagged batch in these states does not stop a new one
TAG = "clue_kit_tag"
SEARCH = 1000  # newest batches looked at for our tag


class BatchPending(UserError):
    """The batch was submitted or is still running: re-run the same command later to collect it."""


class BatchError(UserError):
    """A Batch API call failed, or batch.json cannot be read."""


def _error(engine: Any, step: str, exc: BaseException) -> BatchError:
    """An SDK exception while `step` as one line that names the cause (never --model: batch paths are not model paths)."""
    import openai

    from clue.engines.base import server_message

    url = engine.url
    if isinstance(exc, openai.APIStatusError):
        status = exc.response.status_code
        message = server_message(exc.response.content or f"HTTP {status}")
        if status in (404, 405, 501):
            return BatchError(f"{url} has no OpenAI Batch API ({step}: HTTP {status}, {message})",
                              "run without --batch (servers such as vLLM and llama.cpp answer live requests only), "
                              "or check that --endpoint is the API's base URL")
        if status in (401, 403):
            return BatchError(f"{url} rejected the API key while {step} (HTTP {status}: {message})",
                              f"set {engine.key_env} to a valid key (or name another variable with --api-key-env)")
        return BatchError(f"{step} at {url} failed (HTTP {status}: {message})",
                          "re-run the same command later (a submitted batch is found again by its tag, never paid twice)")
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
        return BatchError(f"{step} at {url} failed ({'timed out' if isinstance(exc, openai.APITimeoutError) else 'no connection'})",
                          "check --endpoint and the network, then re-run the same command")
    return BatchError(f"{step} at {url} failed ({type(exc).__name__}: {exc})", "re-run the same command; if it persists, run without --batch")


class BatchJob:
    def __init__(self, engine: Any, store: Store, run_dir: Path):
        self.engine, self.store, self.path = engine, store, run_dir / STATE
        self.route = "/v1/completions" if getattr(engine, "route", "chat") == "completions" else "/v1/chat/completions"

    def _line(self, r: Request) -> str:
        line = openai_body.batch_line(self.engine.model, r, self.engine.body(r))
        return json.dumps(line, ensure_ascii=False)

    async def settle(self, requests: Sequence[Request]) -> dict[str, Any]:
        """Collect an ended batch into the store, or submit one for what is missing; raise BatchPending
        while a batch is running. Returns the record of what happened (for run.json)."""
        client = self.engine.sdk_client()
        try:
            return await self._settle(client, requests)
        finally:
            await client.close()

    def _state(self) -> dict[str, Any] | None:
        """batch.json as written by this class, or None when there is none; damaged is one line."""
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
            ok = isinstance(state, dict) and isinstance(state.get("batch_id", ""), str) and isinstance(state.get("tag", ""), str) \
                and (state.get("batch_id") or state.get("tag"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # not JSON, not UTF-8, unreadable
            state, ok = None, False
            why = str(exc).splitlines()[0][:120]
        else:
            why = "not a batch record"
        if not ok:
            raise BatchError(f"{self.path} is damaged ({why})",
                             f"delete it and re-run the same command: the kit finds its submitted batch by its tag ({TAG}) "
                             "before submitting another")
        return state

    def _tag(self, missing: Sequence[Request]) -> str:
        digest = hashlib.sha256(self.route.encode())
        for key in sorted(r.key for r in missing):
            digest.update(key.encode() + b"\n")
        return digest.hexdigest()[:32]

    async def _find(self, client: Any, tag: str) -> Any:
        """The newest batch carrying `tag` that may still deliver (None when there is none)."""
        try:
            seen = 0
            async for batch in client.batches.list(limit=100):
                if (batch.metadata or {}).get(TAG) == tag and batch.status not in NOT_REUSED:
                    return batch
                seen += 1
                if seen >= SEARCH:
                    break
        except Exception as exc:  # noqa: BLE001
            import openai

            if isinstance(exc, openai.APIStatusError) and exc.response.status_code in (404, 405):
                return None  # no batch list here: nothing to find (the upload says whether there is a Batch API at all)
            raise _error(self.engine, "listing the account's batches", exc) from None
        return None

    def _keep(self, state: dict[str, Any]) -> None:
        write_atomic(self.path, json.dumps(state) + "\n")

    async def _settle(self, client: Any, requests: Sequence[Request]) -> dict[str, Any]:
        state = self._state()
        by_key = {r.key: r for r in requests}
        missing = [r for k, r in by_key.items() if self.store.get(k) is None]
        if state is None and not missing:
            return {"status": "nothing to submit: every request is in the store"}
        batch_id = (state or {}).get("batch_id")
        if not batch_id:  # no id kept: look for our own batch before paying for another
            tag = (state or {}).get("tag") or self._tag(missing)
            found = await self._find(client, tag)
            if found is None:
                if not missing:
                    self.path.unlink(missing_ok=True)
                    return {"status": "nothing to submit: every request is in the store"}
                await self._submit(client, missing, self._tag(missing))  # raises BatchPending
            batch_id = found.id
            self._keep({**(state or {}), "batch_id": batch_id, "tag": tag, "found_by_tag": True})
        try:
            batch = await client.batches.retrieve(batch_id)
        except Exception as exc:  # noqa: BLE001
            import openai

            if isinstance(exc, openai.APIStatusError) and exc.response.status_code == 404:
                raise BatchError(f"{self.engine.url} knows no batch {batch_id} (the id kept in {self.path})",
                                 "if it belongs to another account or endpoint, delete that file and re-run the same command") from None
            raise _error(self.engine, f"looking up batch {batch_id}", exc) from None
        counts = batch.request_counts
        done = f"{counts.completed + counts.failed}/{counts.total}" if counts else "?"
        if batch.status not in ENDED:
            raise BatchPending(f"batch {batch.id} is {batch.status} ({done} requests done)",
                               "re-run the same command later to collect it (batches finish within 24 h)")
        record = {"batch_id": batch.id, "status": batch.status, **await self._collect(client, batch, requests)}
        self.path.unlink()
        return record

    async def _submit(self, client: Any, missing: Sequence[Request], tag: str) -> NoReturn:
        data = ("\n".join(self._line(r) for r in missing) + "\n").encode("utf-8")
        try:
            upload = await client.files.create(file=("clue-batch.jsonl", data, "application/jsonl"), purpose="batch")
        except Exception as exc:  # noqa: BLE001
            raise _error(self.engine, "uploading the batch file", exc) from None
        state = {"tag": tag, "input_file_id": upload.id, "requests": len(missing), "endpoint": self.route}
        self._keep(state)  # before paying: a re-run that finds no id still knows the tag to look for
        try:
            batch = await client.batches.create(input_file_id=upload.id, endpoint=self.route, completion_window="24h",
                                                metadata={"tool": "clue-kit", TAG: tag})
        except Exception as exc:  # noqa: BLE001
            raise _error(self.engine, "submitting the batch", exc) from None
        self._keep({**state, "batch_id": batch.id, "submitted": time.time()})  # first thing after the paid call
        raise BatchPending(f"batch {batch.id} submitted with {len(missing)} request(s) (id kept in {self.path})",
                           "re-run the same command later to collect the results (batches finish within 24 h)")

    async def _collect(self, client: Any, batch: Any, requests: Sequence[Request]) -> dict[str, Any]:
        by_key = {r.key: r for r in requests}
        stored = failed = 0
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            try:
                content = await client.files.content(file_id)
            except Exception as exc:  # noqa: BLE001
                raise _error(self.engine, f"downloading the results of batch {batch.id}", exc) from None
            for raw in content.text.splitlines():
                if not raw.strip():
                    continue
                try:
                    item = json.loads(raw)
                except ValueError:
                    failed += 1
                    continue
                request = by_key.get(item.get("custom_id"))
                response = item.get("response") or {}
                body = response.get("body") or {}
                if request is None or item.get("error") or response.get("status_code") != 200 or not body.get("choices"):
                    failed += 1
                    continue
                first = body["choices"][0]
                try:
                    text, reason, usage = openai_body.parse_choice(body, not (isinstance(first, dict) and "text" in first))
                except ValueError:
                    failed += 1
                    continue
                self.store.put(request, Completion(text=text, finish_reason=reason, usage=usage))
                stored += 1
        return {"stored": stored, "failed_in_batch": failed}
