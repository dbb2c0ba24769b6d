"""Language identification for short chat text.

The names below load on first use (PEP 562): importing ``babelcast.langid.codes`` (language
codes and their normalisation, which the gateway's wire format uses) does not load the
detector and its fastText model code."""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module that defines it.
_EXPORTS = {
    "ISO_639_1": "codes",
    "UNDETERMINED": "codes",
    "normalize_lang": "codes",
    "Detection": "detector",
    "Detector": "detector",
    "Thresholds": "detector",
    "clean_text": "detector",
}

__all__ = ["ISO_639_1", "UNDETERMINED", "Detection", "Detector", "Thresholds", "clean_text",
           "normalize_lang"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
