"""Brand glossaries and protection of spans that must not be translated.

The gateway core only needs the seam: a ``Glossary`` with a name and a version (part of every
translation cache key) and ``protect``/``restore`` around the engine call. Term matching and
span protection (URLs, mentions, emoji, prices) are built on this seam by the glossary work.
"""

from glossary.protect import Glossary, Protected, protect, restore

__all__ = ["Glossary", "Protected", "protect", "restore"]
