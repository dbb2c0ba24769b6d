"""Translation engines, routing, batching, caching, and the ``Translator`` protocol every caller
uses: one front (``front``) over the local ``TranslationService``'s batcher or the remote job
queue (``remote``).

CTranslate2 is imported only when a ``CTranslate2Engine`` is created (``translation.ct2``), and
torch/transformers only by the converter (``translation.convert``, the ``[convert]`` extra).
"""

from babelcast.translation.base import Translator
from babelcast.translation.batcher import (
    BatcherStats,
    DeadlineExceeded,
    Overloaded,
    TranslationBatcher,
)
from babelcast.translation.cache import TranslationCache
from babelcast.translation.ct2 import CT2Options, CTranslate2Engine
from babelcast.translation.embedded import EmbeddedEngine
from babelcast.translation.engine import (
    ENGINE_ERROR,
    NO_ROUTE,
    NO_TRANSLATOR,
    OVERLOADED,
    TIMEOUT,
    UNDETERMINED,
    Engine,
    EngineError,
    Translation,
)
from babelcast.translation.front import TranslationFront
from babelcast.translation.modeldir import Manifest, ModelDirError, inspect_model_dir
from babelcast.translation.router import Route, Router
from babelcast.translation.service import TranslationService

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
