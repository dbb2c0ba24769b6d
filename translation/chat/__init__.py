"""The chat-aware stage around the engine: live chat as people write it (abbreviations,
phonetic spellings, missing accents, stretched letters, lower case, reactions) normalised for
the model, built-in terms of live selling applied as glossary terms, and the writer's style
given back. ``ChatStage.prepare`` runs before glossary protection, ``ChatStage.finish`` after
restore; the rules are data files in ``translation/data/chat/``."""

from babelcast.translation.chat.normalise import LOWER, UPPER, Normaliser, give_back
from babelcast.translation.chat.rules import (
    KINDS,
    ChatRulesError,
    LanguageRules,
    TermPack,
    available_languages,
    load_pack,
    load_rules,
)
from babelcast.translation.chat.stage import RULES_ENGINE, ChatPrepared, ChatStage

__all__ = [
    "KINDS",
    "LOWER",
    "RULES_ENGINE",
    "UPPER",
    "ChatPrepared",
    "ChatRulesError",
    "ChatStage",
    "LanguageRules",
    "Normaliser",
    "TermPack",
    "available_languages",
    "give_back",
    "load_pack",
    "load_rules",
]
