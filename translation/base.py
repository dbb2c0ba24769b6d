"""``Translator``: the one async protocol every caller of translation uses (the chat pipeline,
translation tracking, ``POST /v1/translate``, the stats, readiness, the composition root).

Two implementations, one front (``translation.front``): ``TranslationService`` runs the models
of this process; ``RemoteTranslator`` (``translation.remote.client``) hands the work to
translator nodes through Redis. Callers cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from babelcast.glossary import Glossary
from babelcast.translation.engine import Engine, Translation


class Translator(Protocol):
    """Translates chat text. Never raises for translation trouble: a text that could not be
    translated comes back as the original with ``translated=False`` and the reason."""

    @property
    def engines(self) -> Sequence[Engine]:
        """The engines it can reach now (those of live translator nodes, when remote)."""
        ...

    def covers(self, src: str, tgt: str) -> bool:
        """Whether some route exists for the pair."""
        ...

    async def translate(self, text: str, src: str, targets: Iterable[str],
                        glossary: Glossary | None = None, *,
                        normalise: bool = True) -> dict[str, Translation]:
        """``text`` into every distinct target but ``src``, concurrently."""
        ...

    async def translate_one(self, text: str, src: str, tgt: str,
                            glossary: Glossary | None = None, *,
                            priority: int | None = None,
                            normalise: bool = True) -> Translation:
        """``text`` into ``tgt``; higher ``priority`` is scheduled first and shed last;
        ``normalise`` False skips the chat stage (a room turned it off)."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """Every counter, for ``/v1/stats`` and ``/metrics``."""
        ...

    async def start(self) -> None:
        """Connect what it needs (nothing, for the local service); raises a clear error when
        it cannot."""
        ...

    async def aclose(self) -> None:
        """Answer every caller still waiting, stop, disconnect."""
        ...
