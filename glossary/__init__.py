"""Brand glossaries and protection of spans that must not be translated.

- ``Glossary`` / ``Term``: terms kept as written or mapped to a fixed translation per target
  language; ``Glossary.from_json`` / ``parse_glossary`` validate REST and file input and raise
  ``GlossaryError`` (``code``, ``message``, HTTP ``status``).
- ``translate_protected``: what the translation service calls around the engine; it protects
  glossary terms, URLs, e-mail addresses, @mentions, #hashtags, emoji, prices and codes,
  verifies the model's output and falls back to translating piece by piece when a placeholder
  did not survive, so that a protected span is never lost or duplicated.
- ``protect_safely`` + ``finish_protected``: the same in two halves, for callers that batch
  engine calls themselves; ``protect`` / ``restore``: the bare seam (``restore`` repairs
  instead of falling back, since it cannot call the engine).
- ``glossary_hits``: the glossary terms of a comment (for ``glossary_hits`` on the wire).
"""

from babelcast.glossary.model import (
    MAX_JSON_BYTES,
    MAX_TERMS,
    Glossary,
    GlossaryError,
    Term,
    load_glossaries,
    load_glossary_file,
    next_version,
    parse_glossary,
)
from babelcast.glossary.protect import (
    Protected,
    ProtectedResult,
    finish_protected,
    glossary_hits,
    protect,
    protect_safely,
    restore,
    translate_protected,
)
from babelcast.glossary.spans import Span, find_spans

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_TERMS",
    "Glossary",
    "GlossaryError",
    "Protected",
    "ProtectedResult",
    "Span",
    "Term",
    "find_spans",
    "finish_protected",
    "glossary_hits",
    "load_glossaries",
    "load_glossary_file",
    "next_version",
    "parse_glossary",
    "protect",
    "protect_safely",
    "restore",
    "translate_protected",
]
