"""Azure OpenAI, classic deployments: `{endpoint}/openai/deployments/{deployment}/...?api-version=…`.

The SDK's `AsyncAzureOpenAI` builds those URLs and sends the `api-key` header; everything else
(body rules per model family, error translation, routes) is the OpenAI engine's. `--model` is the
deployment name. Azure's `/models` lists models, not deployments, so the kit does not check the
name against it: a wrong deployment answers 404 on the first request, which stops the run.
The v1 API (`https://{resource}.openai.azure.com/openai/v1/`) needs none of this: use the plain
`openai` engine with that base URL and the deployment name as `--model`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import openai

from clue.engines.openai_api import OpenAIEngine
from clue.engines.openai_completions import OpenAICompletionsEngine

DEFAULT_API_VERSION = "2024-10-21"  # the GA data-plane version current when written; override with --api-version
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com")


def is_classic_azure(url: str) -> bool:
    """An Azure OpenAI resource URL that is not the v1 API (which the plain engine speaks)."""
    parsed = urlparse(url)
    return (parsed.hostname or "").endswith(AZURE_HOSTS) and "/openai/v1" not in parsed.path


class _Azure:
    """Mixed into the chat and completions engines: only the client and the messages differ."""

    url: str
    model: str
    api_version: str

    def __init__(self, url: str, deployment: str, *, api_version: str | None = None, **kw: Any) -> None:
        self.api_version = api_version or DEFAULT_API_VERSION  # read by _make_client during super().__init__
        super().__init__(url, deployment, **kw)  # type: ignore[call-arg]

    def _make_client(self, api_key: str, timeout_s: float, http_client: Any) -> openai.AsyncOpenAI:
        root = self.url.split("/openai/", 1)[0]
        return openai.AsyncAzureOpenAI(azure_endpoint=root, azure_deployment=self.model, api_version=self.api_version,
                                       api_key=api_key, max_retries=0, timeout=timeout_s, http_client=http_client)

    def _not_found(self, message: str) -> str:
        return (f"Azure at {self.url} has no deployment {self.model!r} for api-version {self.api_version} ({message}) "
                f"— check --model (the deployment name) and --api-version")

    async def describe(self) -> dict[str, Any]:
        return {"engine": "azure", "url": self.url, "model_id": self.model, "deployment": self.model,
                "api_version": self.api_version, "route": getattr(self, "route", "chat"),
                "note": "Azure OpenAI classic deployment; the deployment name is not checked against /models"}


class AzureEngine(_Azure, OpenAIEngine):
    kind = "azure"


class AzureCompletionsEngine(_Azure, OpenAICompletionsEngine):
    kind = "azure"
