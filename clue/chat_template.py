"""Render a model's own chat template client-side, the way transformers does.

The environment mirrors transformers' `_compile_jinja_template` (see
shared/data/chat-templates/README.md): ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loopcontrols extension, a non-escaping `tojson`, `raise_exception` and
`strftime_now`. Special tokens (bos_token, eos_token, …) are passed as plain strings.
The rendered string goes to TGI's native route, as CLUE v3 did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
        klass = config.get("tokenizer_class")
        return cls(source=source, template=template, special_tokens=tokens,
                   clean_up_tokenization_spaces=cleanup if isinstance(cleanup, bool) else None,
                   tokenizer_class=klass if isinstance(klass, str) and klass else None)

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
        """Download tokenizer_config.json of `model` at `revision` (pin a commit sha for reproducibility)."""
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

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

    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True, *, strip_bos: bool = False,
               **kwargs: Any) -> str:
        """Render like transformers' apply_chat_template(tokenize=False). `strip_bos` removes the
        template's leading BOS text, so a server that adds BOS while tokenizing adds the only one (Q9)."""
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
        if strip_bos and bos and text.startswith(bos):
            text = text[len(bos):]
        return text


_cache: dict[str, jinja2.Template] = {}


def _compile(template: str) -> jinja2.Template:
    if template not in _cache:
        _cache[template] = _environment().from_string(template)
    return _cache[template]
