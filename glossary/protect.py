"""The glossary seam: ``protect`` before the engine, ``restore`` after it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Glossary:
    """Terms of one brand or room. ``version`` changes whenever the terms change, so that
    translations cached under an older version are never served."""

    name: str
    version: int = 1
    keep: tuple[str, ...] = ()
    mapped: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Protected:
    """Text ready for the engine plus what ``restore`` needs to put protected spans back."""

    text: str
    spans: tuple[str, ...] = ()


def protect(text: str, glossary: Glossary | None = None) -> Protected:
    """Prepare ``text`` for translation. The core protects nothing yet (see module docstring)."""
    return Protected(text=text)


def restore(translated: str, protected: Protected) -> str:
    """Put protected spans back into the engine's output."""
    return translated
