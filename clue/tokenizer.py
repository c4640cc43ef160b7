"""The evaluated model's tokenizer (fast `tokenizers` JSON), for tasks that budget tokens client-side.

LongHealth builds its prompts to a token budget with the model's own tokenizer (spec §4).
The tokenizer comes from `--tokenizer FILE` (a tokenizer.json) or from the Hub at the pinned
revision; nothing else is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from clue.errors import ConfigError


def load_tokenizer(model: str, revision: str | None, path: str | Path | None = None, token: str | None = None):
    from tokenizers import Tokenizer

    if path is None:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        try:
            path = hf_hub_download(model, "tokenizer.json", revision=revision, token=token)
        except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
            raise ConfigError(
                f"could not get tokenizer.json of {model}@{revision or 'main'} from the Hub ({type(exc).__name__})",
                "check the model id, set HF_TOKEN for gated models, or pass --tokenizer FILE",
            ) from None
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a bad file
        raise ConfigError(f"{path} is not a tokenizers JSON file ({exc})", "pass the model's tokenizer.json") from None


def decode_cleanup_flag(model: str, revision: str | None, *, tokenizer_path: str | Path | None = None,
                        config_path: str | Path | None = None, token: str | None = None, hub: bool = True) -> bool | None:
    """The model's `clean_up_tokenization_spaces` from its tokenizer_config.json (None: unset or unknown)."""
    value = tokenizer_config(model, revision, tokenizer_path=tokenizer_path, config_path=config_path, token=token,
                             hub=hub).get("clean_up_tokenization_spaces")
    return value if isinstance(value, bool) else None


def tokenizer_config(model: str, revision: str | None, *, tokenizer_path: str | Path | None = None,
                     config_path: str | Path | None = None, token: str | None = None, hub: bool = True) -> dict:
    """The model's tokenizer_config.json as a dict ({} when none is found).

    Looked for in `config_path` (the --chat-template file), then next to `tokenizer_path`, then on the
    Hub at `revision` when no local tokenizer file was given and `hub` allows. Never fails.
    """
    import json

    candidates = [Path(p) for p in (config_path,) if p]
    if tokenizer_path:
        candidates.append(Path(tokenizer_path).with_name("tokenizer_config.json"))
    for path in candidates:
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(config, dict) and ("clean_up_tokenization_spaces" in config or "tokenizer_class" in config):
            return config
    if tokenizer_path or not hub:
        return {}
    try:
        from huggingface_hub import hf_hub_download

        downloaded = hf_hub_download(model, "tokenizer_config.json", revision=revision, token=token)
        config = json.loads(Path(downloaded).read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 — offline, gated, absent: the era's default applies (recorded in run.json)
        return {}
    return config if isinstance(config, dict) else {}
