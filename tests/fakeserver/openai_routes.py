"""The fake server's OpenAI-only routes: the Batch API, Azure's deployment checks and reasoning-model rules.

``OpenAIRoutes`` is a handler mixin. Batch API: POST /v1/files (multipart upload) and /v1/batches, GET
/v1/batches/{id} (the batch runs its lines through the responder on the ``batch_polls``-th look, then is
"completed") and /v1/files/{id}/content. ``_azure_ok``: Azure's classic routes need an api-version and a
known deployment (else Azure's 404 bodies). ``_reasoning_ok``: an OpenAI reasoning model's 400s for
``max_tokens``, ``stop`` and a temperature other than 1 (unless ``reasoning_effort: "none"``).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from .base import _HandlerBase
from .errors import _oai_error
from .responders import _chat_text, _limit, _n_tokens


class OpenAIRoutes(_HandlerBase):
    """Handler mixin: OpenAI's Batch API, Azure's route checks and a reasoning model's parameter checks."""

    # -- OpenAI Batch API ------------------------------------------------------------------------
    def _batch_post(self, path: str, raw: bytes) -> None:
        fake = self.server.fake
        with fake._lock:
            n = len(fake.files) + len(fake.batches)
            if path == "/v1/files":
                from email.parser import BytesParser

                msg = BytesParser().parsebytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw)
                content = next(p.get_payload(decode=True) for p in msg.get_payload() if p.get_param("name", header="content-disposition") == "file")
                fid = f"file-{n}"
                fake.files[fid] = content
                return self._send(200, {"id": fid, "object": "file", "bytes": len(content), "created_at": 0,
                                        "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})
            body = json.loads(raw)
            if body.get("input_file_id") not in fake.files:
                return self._send(400, _oai_error("Invalid input_file_id", "invalid_request_error", None))
            bid = f"batch_{n}"
            fake.batches[bid] = {"id": bid, "object": "batch", "endpoint": body["endpoint"], "input_file_id": body["input_file_id"],
                                 "completion_window": "24h", "status": "in_progress", "created_at": int(time.time()),
                                 "metadata": body.get("metadata"),
                                 "output_file_id": None, "error_file_id": None, "polls": 0,
                                 "request_counts": {"total": fake.files[body["input_file_id"]].count(b"\n"), "completed": 0, "failed": 0}}
            return self._send(200, {k: v for k, v in fake.batches[bid].items() if k != "polls"})

    def _batch_get(self, what: str, ident: str) -> None:
        fake = self.server.fake
        if not self._authorized():
            return
        with fake._lock:
            if what == "files":
                if ident not in fake.files:
                    return self._send(404, _oai_error("No such file", "invalid_request_error", None))
                return self._send(200, fake.files[ident])
            batch = fake.batches.get(ident)
            if batch is None:
                return self._send(404, _oai_error("No such batch", "invalid_request_error", None))
            batch["polls"] += 1
            if batch["status"] == "in_progress" and batch["polls"] >= fake.batch_polls:
                out = []
                for line in fake.files[batch["input_file_id"]].decode().splitlines():
                    item = json.loads(line)
                    req = item["body"]
                    text, reason = _limit(fake.responder("chat", req["messages"]) if "messages" in req else
                                          fake.responder("generate", req["prompt"]),
                                          req.get("max_completion_tokens", req.get("max_tokens")),
                                          [req["stop"]] if isinstance(req.get("stop"), str) else req.get("stop") or [], False)
                    n_in = _n_tokens(_chat_text(req["messages"]) if "messages" in req else req["prompt"])
                    choice = ({"index": 0, "message": {"role": "assistant", "content": text}} if "messages" in req
                              else {"index": 0, "text": text})
                    choice["finish_reason"] = "length" if reason == "length" else "stop"
                    out.append(json.dumps({"id": "r", "custom_id": item["custom_id"], "error": None, "response": {
                        "status_code": 200, "request_id": "q", "body": {
                            "id": "x", "object": "chat.completion", "created": 0, "model": req["model"], "choices": [choice],
                            "usage": {"prompt_tokens": n_in, "completion_tokens": _n_tokens(text),
                                      "total_tokens": n_in + _n_tokens(text)}}}}))
                    fake.batch_completed.append(item["custom_id"])
                fid = f"file-out-{ident}"
                fake.files[fid] = ("\n".join(out) + "\n").encode()
                batch.update(status="completed", output_file_id=fid)
                batch["request_counts"]["completed"] = len(out)
            return self._send(200, {k: v for k, v in batch.items() if k != "polls"})

    def _azure_ok(self, path: str) -> bool:
        """Azure's classic routes: api-version is required and the deployment must exist."""
        fake = self.server.fake
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        if not re.search(r"(^|&)api-version=[^&]+", query):
            self._send(404, {"error": {"code": "404", "message": "Resource not found"}})
            return False
        deployment = path.split("/")[3]
        if deployment not in fake.deployments:
            self._send(404, {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource "
                                       "does not exist. If you created the deployment within the last 5 minutes, please "
                                       "wait a moment and try again."}})
            return False
        return True

    def _reasoning_ok(self, body: dict[str, Any]) -> bool:
        """An OpenAI reasoning model's parameter checks (messages as the API words them)."""
        def reject(message: str, param: str, code: str) -> bool:
            self._send(400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})
            return False

        if "max_tokens" in body:
            return reject("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                          "'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter")
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1 and body.get("reasoning_effort") != "none":
            return reject(f"Unsupported value: 'temperature' does not support {temperature:g} with this model. Only the "
                          f"default (1) value is supported.", "temperature", "unsupported_value")
        if body.get("stop"):
            return reject("Unsupported parameter: 'stop' is not supported with this model.", "stop", "unsupported_parameter")
        return True
