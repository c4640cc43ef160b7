"""OpenAI's Batch API for hosted runs (`clue run --batch`): JSONL upload, one batch, results later.

Batches cost half and finish within 24 h, so a batch run spans invocations:
  1st: the requests not yet in the store go into one JSONL file (`custom_id` = the request key,
       the body exactly as the live route would send it: same model-family rules), which is uploaded
       and submitted; the batch id is kept in `<run dir>/batch.json` and the command exits (status 75).
  next: the same command asks for the batch's status; when it has ended its results go into the same
       store as live answers, and the run is scored. Items the batch failed are not resubmitted: the
       runner sends them live (counted and reported as usual).
Only the OpenAI API itself (and compatible ones that implement /v1/files and /v1/batches) has this.

Each line is `openai_body.batch_line` with the engine's own generation fields (`engine.body`), so a
batched request is byte for byte the live one. The upload and the batch objects go through the
official OpenAI SDK (`engine.sdk_client()`, imported only here: the multipart upload and the typed
batch objects are what it is made for, and a batch run sends a handful of calls, not one per item).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clue.engines import openai_body
from clue.engines.base import EngineError
from clue.errors import UserError
from clue.store import Store
from clue.types import Completion, Request

STATE = "batch.json"
ENDED = ("completed", "failed", "expired", "cancelled")


class BatchPending(UserError):
    """The batch was submitted or is still running: re-run the same command later to collect it."""


def _translate(engine: Any, exc: BaseException) -> EngineError:
    """An SDK exception as the engine's own error (same one-line messages as the live route)."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        return engine._status_error(exc.response)
    if isinstance(exc, openai.APITimeoutError):
        return EngineError("transient", f"{engine.url} timed out", label="timeout")
    if isinstance(exc, openai.APIConnectionError):
        return EngineError("transient", f"connection to {engine.url} failed", label="connection")
    return EngineError("permanent", f"{type(exc).__name__}: {exc}")


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

    async def _settle(self, client: Any, requests: Sequence[Request]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if self.path.is_file():
            state = json.loads(self.path.read_text())
            try:
                batch = await client.batches.retrieve(state["batch_id"])
            except Exception as exc:  # noqa: BLE001
                raise _translate(self.engine, exc) from None
            counts = batch.request_counts
            done = f"{counts.completed + counts.failed}/{counts.total}" if counts else "?"
            if batch.status not in ENDED:
                raise BatchPending(f"batch {batch.id} is {batch.status} ({done} requests done)",
                                   "re-run the same command later to collect it (batches finish within 24 h)")
            record = {"batch_id": batch.id, "status": batch.status, **await self._collect(client, batch, requests)}
            self.path.unlink()
            return record
        by_key = {r.key: r for r in requests}
        missing = [r for k, r in by_key.items() if self.store.get(k) is None]
        if not missing:
            return {"status": "nothing to submit: every request is in the store"}
        data = ("\n".join(self._line(r) for r in missing) + "\n").encode("utf-8")
        try:
            upload = await client.files.create(file=("clue-batch.jsonl", data, "application/jsonl"), purpose="batch")
            batch = await client.batches.create(input_file_id=upload.id, endpoint=self.route, completion_window="24h",
                                                metadata={"tool": "clue-kit"})
        except Exception as exc:  # noqa: BLE001
            raise _translate(self.engine, exc) from None
        self.path.write_text(json.dumps({"batch_id": batch.id, "input_file_id": upload.id, "requests": len(missing),
                                         "endpoint": self.route, "submitted": time.time()}) + "\n")
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
                raise _translate(self.engine, exc) from None
            for raw in content.text.splitlines():
                if not raw.strip():
                    continue
                item = json.loads(raw)
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
