"""Translation engines, routing, caching and the async ``TranslationService``."""

from translation.embedded import EmbeddedEngine
from translation.engine import (
    ENGINE_ERROR,
    NO_ROUTE,
    TIMEOUT,
    UNDETERMINED,
    Engine,
    EngineError,
    Translation,
)
from translation.router import Route, Router
from translation.service import TranslationService

__all__ = [
    "ENGINE_ERROR",
    "NO_ROUTE",
    "TIMEOUT",
    "UNDETERMINED",
    "EmbeddedEngine",
    "Engine",
    "EngineError",
    "Route",
    "Router",
    "Translation",
    "TranslationService",
]
