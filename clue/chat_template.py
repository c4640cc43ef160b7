"""Render a model's own chat template client-side, the way transformers does.

The environment mirrors transformers' `_compile_jinja_template` (see
shared/data/chat-templates/README.md): ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loopcontrols extension, a non-escaping `tojson`, `raise_exception` and
`strftime_now`. Special tokens (bos_token, eos_token, …) are passed as plain strings.
The rendered string goes to TGI's native route, as CLUE v3 did, or to an OpenAI-compatible
`/completions` route.

BOS: a protocol that wants one BOS (`strip_bos`) removes the template's leading BOS text only where
the server adds that same token while tokenizing. What the server adds is asked where the server can
say (llama.cpp's and vLLM's `/tokenize`, clue/engines/server_bos.py, given by `for_server`); where it
was not asked (TGI, hosted APIs) or could not say, the server is taken to add the model's BOS, as
before. `bos_record` is the decision as run.json shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from clue.errors import ConfigError
from clue.types import Message, sha256

SPECIAL_TOKEN_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators=None, sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def _token_text(value: Any) -> str | None:
    # tokenizer_config.json stores special tokens either as strings or as AddedToken dicts.
    if isinstance(value, dict):
        return value.get("content")
    return value


@dataclass(frozen=True)
class ChatTemplate:
    """A model's chat template plus its special tokens, ready to render."""

    source: str
    template: str
    special_tokens: Mapping[str, str] = field(default_factory=dict)
    clean_up_tokenization_spaces: bool | None = None  # the same config's decode setting (None: unset)
    tokenizer_class: str | None = None  # the same config's `tokenizer_class` (decides the unset flag's default)
    add_bos_token: bool | None = None  # the same config's `add_bos_token` (recorded; None: unset)
    server_bos: Mapping[str, Any] | None = None  # what the server said it adds in front (server_bos.probe); None: not asked

    @classmethod
    def from_config(cls, config: Mapping[str, Any], source: str) -> ChatTemplate:
        template = config.get("chat_template")
        if isinstance(template, list):  # named templates: use "default"
            named = {t.get("name"): t.get("template") for t in template}
            template = named.get("default")
        if not isinstance(template, str) or not template:
            raise ConfigError(
                f"{source} has no chat_template",
                "use --mode base for a base model, or pass --chat-template FILE with a tokenizer_config.json",
            )
        tokens = {k: t for k in SPECIAL_TOKEN_KEYS if (t := _token_text(config.get(k))) is not None}
        cleanup = config.get("clean_up_tokenization_spaces")
        klass, add_bos = config.get("tokenizer_class"), config.get("add_bos_token")
        return cls(source=source, template=template, special_tokens=tokens,
                   clean_up_tokenization_spaces=cleanup if isinstance(cleanup, bool) else None,
                   tokenizer_class=klass if isinstance(klass, str) and klass else None,
                   add_bos_token=add_bos if isinstance(add_bos, bool) else None)

    @classmethod
    def from_file(cls, path: str | Path) -> ChatTemplate:
        path = Path(path)
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"chat template file {path} not found", "pass the path of a tokenizer_config.json") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"chat template file {path} is not valid JSON ({exc})", "pass a tokenizer_config.json") from None
        return cls.from_config(config, source=str(path))

    @classmethod
    def from_hub(cls, model: str, revision: str | None, token: str | None = None) -> ChatTemplate:
        """Download tokenizer_config.json of `model` at `revision` (pin a commit sha for reproducibility). Offline
        (HF_HUB_OFFLINE) or with the Hub out of reach, the cached copy is used; without one, the error says at once
        what to pass instead of retrying the Hub for half a minute."""
        from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        cut_off = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else _hub_unreachable(constants.ENDPOINT)
        if cut_off:
            cached = try_to_load_from_cache(model, "tokenizer_config.json", revision=revision)
            if isinstance(cached, str):
                return cls.from_file(cached)
            raise ConfigError(f"the prompts are rendered with {model}'s chat template, but {cut_off} and its "
                              f"tokenizer_config.json is not in the Hugging Face cache",
                              "pass --chat-template FILE (the model's tokenizer_config.json)")
        try:
            path = hf_hub_download(model, "tokenizer_config.json", revision=revision, token=token)
        except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
            raise ConfigError(
                f"could not get tokenizer_config.json of {model}@{revision or 'main'} from the Hub ({type(exc).__name__})",
                "check the model id, set HF_TOKEN for gated models, or pass --chat-template FILE",
            ) from None
        return cls.from_file(path)

    @property
    def sha(self) -> str:
        return sha256(self.template)[:16]

    def for_server(self, answer: Mapping[str, Any] | None) -> ChatTemplate:
        """This template, rendering for a server that said what it adds in front of a prompt (None: not asked)."""
        return replace(self, server_bos=dict(answer) if answer else None)

    def _server_adds(self) -> list[str] | None:
        adds = (self.server_bos or {}).get("adds_in_front")
        return list(adds) if isinstance(adds, list) else None

    def strips_bos(self) -> bool:
        """Does `render(strip_bos=True)` remove the template's leading BOS text? Only where the server adds that
        same token and nothing else in front; a server that was not asked (or could not say) is taken to add it."""
        bos, adds = self.special_tokens.get("bos_token"), self._server_adds()
        return bool(bos) and (adds is None or adds == [bos])

    def bos_record(self, strip_bos: bool) -> dict[str, Any]:
        """run.json's account of the BOS decision: the template's BOS, what the server adds and how that is known,
        what the protocol wants (`strip_bos`: one BOS) and whether the leading BOS text is removed."""
        bos, adds = self.special_tokens.get("bos_token"), self._server_adds()
        asked = self.server_bos is not None
        out: dict[str, Any] = {
            "template_bos": bos,
            "server_adds": adds,
            "known_from": ("the server's /tokenize" if adds is not None else
                           "assumed: the server adds the model's BOS (it could not say)" if asked else
                           "assumed: the server adds the model's BOS (not asked: TGI, hosted APIs)"),
            "protocol": "one BOS: the template's BOS text is removed where the server adds that same token" if strip_bos
                        else "the template's BOS text is kept (Q9 double BOS)",
            "strip_leading_bos": strip_bos and self.strips_bos(),
        }
        if self.add_bos_token is not None:
            out["tokenizer_config_add_bos_token"] = self.add_bos_token
        if asked:
            out["server_said"] = dict(self.server_bos or {})
        return out

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True, *, strip_bos: bool = False,
               **kwargs: Any) -> str:
        """Render like transformers' apply_chat_template(tokenize=False). `strip_bos` removes the
        template's leading BOS text where the server adds that same BOS while tokenizing, so the prompt
        has one BOS (Q9; `strips_bos`); a server that adds none gets the template's text unchanged."""
        try:
            compiled = _compile(self.template)
            text = compiled.render(
                messages=list(messages), add_generation_prompt=add_generation_prompt, **{**self.special_tokens, **kwargs}
            )
        except (jinja2.TemplateSyntaxError, jinja2.UndefinedError) as exc:  # the template itself is broken
            raise ConfigError(f"the chat template of {self.source} cannot be rendered ({type(exc).__name__}: {exc})",
                              "pass the model's own tokenizer_config.json with --chat-template, or fix its chat_template") from None
        except jinja2.TemplateError as exc:  # raise_exception(): the template refuses this conversation layout
            raise ConfigError(
                f"the chat template of {self.source} refused these messages: {exc}",
                "pick the conversation mode the model supports (--mode instruct / base)",
            ) from None
        bos = self.special_tokens.get("bos_token")
        if strip_bos and bos and text.startswith(bos) and self.strips_bos():
            text = text[len(bos):]
        return text


_cache: dict[str, jinja2.Template] = {}


def _compile(template: str) -> jinja2.Template:
    if template not in _cache:
        _cache[template] = _environment().from_string(template)
    return _cache[template]


def _hub_unreachable(endpoint: str, timeout: float = 3.0) -> str:
    """Why the Hub cannot be reached ("" when it can, or when a proxy decides): one quick connection, so a machine
    without network is told at once rather than after the Hub client's retries."""
    import os
    import socket
    from urllib.parse import urlparse

    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")):
        return ""
    url = urlparse(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"the Hub ({url.netloc}) cannot be reached ({exc.strerror or exc})"
    return ""
