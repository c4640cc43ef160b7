"""The fake server's error answers: the injectable fault kinds and the bodies each one sends.

``FAULT_KINDS`` names every fault ``FakeServer(faults=…, fault_plan=…)`` and ``--fault KIND=P`` accept;
``_ERRORS`` maps an HTTP-status fault to (status, TGI body, OpenAI-chat body) as the real servers and
gateways word them ("reset", "hang" and "malformed" are acted out by the handler instead).
``_oai_error`` builds an OpenAI error object; ``_Invalid`` is a TGI-style 422 validation error.
"""

from __future__ import annotations

from typing import Any

FAULT_KINDS = ("429", "429_retry_after", "503", "500", "408", "reset", "hang", "malformed", "400", "401", "404")


class _Invalid(ValueError):
    """A TGI-style 422 validation error."""


def _oai_error(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


_OVERLOADED = {"error": "Model is overloaded", "error_type": "overloaded"}  # TGI's queue-full answer
_ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, Any]]] = {  # kind -> (status, TGI body, chat body)
    "429": (429, _OVERLOADED, _OVERLOADED),  # TGI answers its chat route the same way
    "429_retry_after": (429, _OVERLOADED, _oai_error("Rate limit reached.", "rate_limit_error", "rate_limit_exceeded")),
    "500": (500, {"error": "Request failed during generation: incomplete generation",  # TGI's own 500
                  "error_type": "incomplete_generation"}, _oai_error("Internal server error", "server_error", None)),
    "503": (503, {"error": "Service Unavailable"}, _oai_error("Service Unavailable", "server_error", None)),  # gateway
    "408": (408, {"error": "Request Timeout"}, _oai_error("Request Timeout", "server_error", None)),  # gateway
    # permanent: a proxy's rejection, a revoked key, a route or model that went away mid-run
    "400": (400, {"error": "Bad Request: request rejected by policy", "error_type": "bad_request"},
            _oai_error("Bad Request: request rejected by policy", "invalid_request_error", None)),
    "401": (401, {"error": "Unauthorized: the API key was revoked", "error_type": "authentication"},
            _oai_error("Unauthorized: the API key was revoked", "invalid_request_error", "invalid_api_key")),
    "404": (404, {"error": "Not Found: the route went away", "error_type": "not_found"},
            _oai_error("The model went away.", "invalid_request_error", "model_not_found")),
}
