"""Translation engines, routing, batching, caching, and the ``Translator`` protocol every caller
uses: one front (``front``) over the local ``TranslationService``'s batcher or the remote job
queue (``remote``).

The names below load on first use (PEP 562), so that importing one light module of this
package (``babelcast.translation.engine``: the ``Translation`` result and its reasons, which the
gateway's wire format carries) loads neither the service nor any engine. CTranslate2 is
imported only when a ``CTranslate2Engine`` is created (``translation.ct2``), and
torch/transformers only by the converter (``translation.convert``, the ``[convert]`` extra).
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module that defines it.
_EXPORTS = {
    "ENGINE_ERROR": "engine",
    "NO_ROUTE": "engine",
    "NO_TRANSLATOR": "engine",
    "OVERLOADED": "engine",
    "TIMEOUT": "engine",
    "UNDETERMINED": "engine",
    "BatcherStats": "batcher",
    "CT2Options": "ct2",
    "CTranslate2Engine": "ct2",
    "DeadlineExceeded": "batcher",
    "EmbeddedEngine": "embedded",
    "Engine": "engine",
    "EngineError": "engine",
    "Manifest": "modeldir",
    "ModelDirError": "modeldir",
    "Overloaded": "batcher",
    "Route": "router",
    "Router": "router",
    "Translation": "engine",
    "TranslationBatcher": "batcher",
    "TranslationCache": "cache",
    "TranslationFront": "front",
    "TranslationService": "service",
    "Translator": "base",
    "inspect_model_dir": "modeldir",
}

__all__ = [
    "ENGINE_ERROR",
    "NO_ROUTE",
    "NO_TRANSLATOR",
    "OVERLOADED",
    "TIMEOUT",
    "UNDETERMINED",
    "BatcherStats",
    "CT2Options",
    "CTranslate2Engine",
    "DeadlineExceeded",
    "EmbeddedEngine",
    "Engine",
    "EngineError",
    "Manifest",
    "ModelDirError",
    "Overloaded",
    "Route",
    "Router",
    "Translation",
    "TranslationBatcher",
    "TranslationCache",
    "TranslationFront",
    "TranslationService",
    "Translator",
    "inspect_model_dir",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
