"""Azure OpenAI, classic deployments: `{endpoint}/openai/deployments/{deployment}/...?api-version=…`.

What `AsyncAzureOpenAI` would do differently from the OpenAI engine is two things, both done here
on the OpenAI engine's own body + transport (no SDK on the run path): the URL (deployment path and
`api-version` query) and the `api-key` header instead of `Authorization: Bearer`. Everything else
(body rules per model family, error translation, routes, prefill) is the OpenAI engine's. `--model`
is the deployment name. Azure's `/models` lists models, not deployments, so the kit does not check
the name against it: a wrong deployment answers 404 on the first request, which stops the run.
The v1 API (`https://{resource}.openai.azure.com/openai/v1/`) needs none of this: use the plain
`openai` engine with that base URL and the deployment name as `--model`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlparse

from clue import __version__
from clue.engines.openai_api import AZURE_HOSTS, OpenAIEngine

DEFAULT_API_VERSION = "2024-10-21"  # the GA data-plane version current when written; override with --api-version


def is_classic_azure(url: str) -> bool:
    """An Azure OpenAI resource URL that is not the v1 API (which the plain engine speaks)."""
    parsed = urlparse(url)
    return (parsed.hostname or "").endswith(AZURE_HOSTS) and "/openai/v1" not in parsed.path


class AzureEngine(OpenAIEngine):
    """Both routes: requests carrying messages go to chat/completions, rendered prompts to completions."""

    kind = "azure"

    def __init__(self, url: str, deployment: str, *, api_version: str | None = None, **kw: Any) -> None:
        self.api_version = api_version or DEFAULT_API_VERSION
        super().__init__(url, deployment, **kw)
        self._root = self.url.split("/openai/", 1)[0]  # the resource endpoint, whatever path was given
        self._query = "?" + urlencode({"api-version": self.api_version})

    def _make_headers(self, api_key: str) -> dict[str, str]:
        return {"api-key": api_key, "content-type": "application/json", "accept": "application/json",
                "user-agent": f"clue-kit/{__version__}"}

    def _url(self, path: str) -> str:
        return f"{self._root}/openai/deployments/{quote(self.model, safe='')}{path}{self._query}"

    def _hint_v1(self) -> bool:
        return False  # a 404 here is a deployment (or api-version) the resource does not have

    def _not_found(self, message: str) -> str:
        return (f"Azure at {self.url} has no deployment {self.model!r} for api-version {self.api_version} ({message}) "
                f"— check --model (the deployment name) and --api-version")

    async def describe(self) -> dict[str, Any]:
        return {"engine": "azure", "url": self.url, "model_id": self.model, "deployment": self.model,
                "api_version": self.api_version, "route": self.route,
                "note": "Azure OpenAI classic deployment; the deployment name is not checked against /models"}

    def sdk_client(self) -> Any:
        """The Batch API's client (files and batches live under {endpoint}/openai/, not the deployment)."""
        import openai

        return openai.AsyncAzureOpenAI(azure_endpoint=self._root, api_version=self.api_version, api_key=self._api_key,
                                       max_retries=0, timeout=self._timeout,
                                       http_client=openai.DefaultAsyncHttpxClient(follow_redirects=False))
