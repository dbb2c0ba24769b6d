"""Choose, per language pair, how to translate: a pair model, else a multilingual model, else a
pivot through English across two engines, else no route (the text passes through)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from babelcast.translation.engine import Engine

PIVOT = "en"


@dataclass(frozen=True)
class Route:
    """The engines a pair goes through, in order (one hop, or two through English)."""

    hops: tuple[tuple[Engine, str, str], ...]

    @property
    def name(self) -> str:
        return " > ".join(f"{e.name}({s}->{t})" for e, s, t in self.hops)


def is_multilingual(engine: Engine) -> bool:
    """Whether ``engine`` is a many-to-many model (NLLB, M2M100): engines say so with a
    ``multilingual`` attribute; those without one are pair models."""
    return bool(getattr(engine, "multilingual", False))


class Router:
    """Routes ``(src, tgt)``: the first pair model (Marian, the embedded engine) that covers
    it, else the first multilingual model, else a pivot through English whose hops are chosen
    the same way. A pair model is preferred because one trained for the pair translates it
    better and faster than a many-to-many model of similar size. Engines keep their order
    within each kind (the order of the models file)."""

    def __init__(self, engines: Sequence[Engine]) -> None:
        self.engines = list(engines)
        self._routes: dict[tuple[str, str], Route | None] = {}

    def _direct(self, src: str, tgt: str) -> Engine | None:
        covering = [e for e in self.engines if e.supports(src, tgt)]
        return next((e for e in covering if not is_multilingual(e)),
                    covering[0] if covering else None)

    def route(self, src: str, tgt: str) -> Route | None:
        """The route for a pair, or None when no engine covers it (the text passes through)."""
        key = (src, tgt)
        if key not in self._routes:
            self._routes[key] = self._find(src, tgt)
        return self._routes[key]

    def _find(self, src: str, tgt: str) -> Route | None:
        direct = self._direct(src, tgt)
        if direct is not None:
            return Route(((direct, src, tgt),))
        if PIVOT in (src, tgt):
            return None
        first, second = self._direct(src, PIVOT), self._direct(PIVOT, tgt)
        if first is None or second is None:
            return None
        return Route(((first, src, PIVOT), (second, PIVOT, tgt)))
