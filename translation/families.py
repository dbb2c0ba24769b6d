"""The engine families babelcast runs (Marian, NLLB-200, M2M100), each described once.

A ``Family`` says everything the rest of ``translation/`` needs to know about a kind of model:
whether one model serves many languages, how ISO 639-1 codes map to the model's language
tokens, where those tokens go (first source token, target prefix), which SentencePiece files
it tokenizes with, which Transformers checkpoints it is converted from, and the Transformer's
shape for test-built models. Manifest validation (``modeldir``), the engine (``ct2``), the
converter (``convert``) and the toy models (``toymodels``) ask the registry; none of them
branches on a family's name. Adding a family is one ``FAMILIES.register(Family(...))`` below
(see docs/models.md).

Like CTranslate2's ``@register_loader("MarianConfig")``, but data: a family is a frozen
dataclass, and a ``FamilyRegistry`` can be built fresh (tests do) instead of the default one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from babelcast.translation.langcodes import NLLB_CODES

EOS = "</s>"


class LangTokens(Protocol):
    """A family's language-token scheme: ISO 639-1 code <-> the model's language token."""

    def token(self, lang: str) -> str | None:
        """The model's token for ``lang``, or None when the scheme has none."""
        ...

    def iso(self, token: str) -> str | None:
        """The ISO 639-1 code of a model token, or None for a token that names no language
        the gateway has a code for."""
        ...

    def found_in(self, vocabulary: Sequence[str]) -> dict[str, str]:
        """ISO code -> token for every language whose token is in ``vocabulary``."""
        ...


@dataclass(frozen=True)
class NoLangTokens:
    """No language tokens (a Marian pair model: the model *is* the direction)."""

    def token(self, lang: str) -> str | None:
        return None

    def iso(self, token: str) -> str | None:
        return None

    def found_in(self, vocabulary: Sequence[str]) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class TableLangTokens:
    """Tokens listed per ISO code (NLLB's FLORES-200 codes: ``pt`` -> ``por_Latn``). Where
    several ISO codes share one token (nb/no), the first one listed wins the reverse lookup."""

    table: dict[str, str]

    def token(self, lang: str) -> str | None:
        return self.table.get(lang)

    def iso(self, token: str) -> str | None:
        return next((iso for iso, t in self.table.items() if t == token), None)

    def found_in(self, vocabulary: Sequence[str]) -> dict[str, str]:
        vocab = set(vocabulary)
        found: dict[str, str] = {}
        for iso, token in self.table.items():
            if token in vocab and token not in found.values():
                found[iso] = token
        return found


@dataclass(frozen=True)
class PatternLangTokens:
    """Tokens that wrap the ISO code (M2M100: ``pt`` -> ``__pt__``)."""

    prefix: str
    suffix: str

    def token(self, lang: str) -> str | None:
        return f"{self.prefix}{lang}{self.suffix}"

    def iso(self, token: str) -> str | None:
        if (token.startswith(self.prefix) and token.endswith(self.suffix)
                and len(token) > len(self.prefix) + len(self.suffix)):
            code = token[len(self.prefix):len(token) - len(self.suffix)]
            return code if len(code) == 2 else None  # __ast__ has no ISO 639-1 code
        return None

    def found_in(self, vocabulary: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for token in vocabulary:
            iso = self.iso(token)
            if iso is not None:
                found.setdefault(iso, token)
        return found


@dataclass(frozen=True)
class Family:
    """One engine family. ``name`` is what manifest.json's ``family`` says.

    - ``multilingual``: a model serves every pair among its manifest's ``languages``;
      otherwise it serves the ``pairs`` listed (a pair model, preferred by the router).
    - ``lang_tokens``: the default ISO code <-> token scheme (a manifest may override tokens).
    - ``source_lead``: which language's token (if the manifest has one) starts the source:
      ``"source"`` (NLLB, M2M100: ``eng_Latn ... </s>``) or ``"target"`` (multi-target
      Marian: ``>>por<< ... </s>``).
    - ``target_prefix``: whether decoding starts from the target language token.
    - ``spm_files``: the SentencePiece files, source first (one file: shared).
    - ``hf_model_type`` / ``hf_tokenizer``: the Transformers checkpoints it is converted from,
      config.json's ``model_type`` (that of ``MarianConfig``, ``M2M100Config``) and, where two
      families share a model type, the ``tokenizer_class`` prefix that tells them apart
      (empty: any tokenizer).
    - ``pre_norm`` / ``zero_start_embedding``: the Transformer's shape, for test-built models
      (CTranslate2's converter reads it from the checkpoint).
    """

    name: str
    title: str
    multilingual: bool
    lang_tokens: LangTokens
    source_lead: Literal["source", "target"]
    target_prefix: bool
    spm_files: tuple[str, ...]
    hf_model_type: str = ""
    hf_tokenizer: str = ""
    pre_norm: bool = True
    zero_start_embedding: bool = False

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier():
            raise ValueError(f"a family name is a short identifier, not {self.name!r}")
        if self.source_lead not in ("source", "target"):
            raise ValueError(f"source_lead must be 'source' or 'target', "
                             f"not {self.source_lead!r}")
        if not 1 <= len(self.spm_files) <= 2:
            raise ValueError("spm_files lists one (shared) or two (source, target) files")

    def source_tokens(self, pieces: Sequence[str], src: str, tgt: str,
                      tokens: dict[str, str]) -> list[str]:
        """The source of one text: the lead language token (when ``tokens`` has one), the
        SentencePiece pieces, ``</s>``."""
        lead = tokens.get(src if self.source_lead == "source" else tgt)
        return [lead, *pieces, EOS] if lead else [*pieces, EOS]

    def prefix(self, tgt: str, tokens: dict[str, str]) -> list[str] | None:
        """The target prefix CTranslate2 decodes from, or None."""
        return [tokens[tgt]] if self.target_prefix else None


class UnknownFamily(ValueError):
    """A family name no registration describes."""


class FamilyRegistry:
    """The families babelcast knows, by name."""

    def __init__(self, families: Iterable[Family] = ()) -> None:
        self._families: dict[str, Family] = {}
        for family in families:
            self.register(family)

    def register(self, family: Family) -> Family:
        """Add ``family``; returns it, so a registration can name it too."""
        if family.name in self._families:
            raise ValueError(f"family {family.name!r} is already registered")
        self._families[family.name] = family
        return family

    def get(self, name: str) -> Family:
        """The family called ``name``; ``UnknownFamily`` listing the known ones otherwise."""
        try:
            return self._families[name]
        except (KeyError, TypeError):
            raise UnknownFamily(f"family must be one of {', '.join(self._families)}, "
                                f"not {name!r}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._families)

    def __contains__(self, name: object) -> bool:
        return name in self._families

    def __iter__(self) -> Iterator[Family]:
        return iter(self._families.values())

    def from_transformers(self, model_type: str, tokenizer_class: str) -> Family | None:
        """The family of a Transformers checkpoint (config.json's ``model_type``,
        tokenizer_config.json's ``tokenizer_class``), or None. A family that names its
        tokenizer wins over one that takes any (NLLB models are M2M100 models with their own
        tokenizer)."""
        tokenizer = tokenizer_class.lower()
        matches = [f for f in self if f.hf_model_type and f.hf_model_type == model_type]
        named = [f for f in matches if f.hf_tokenizer and tokenizer.startswith(f.hf_tokenizer)]
        return next(iter(named or [f for f in matches if not f.hf_tokenizer]), None)


# The default registry: one registration per family.
FAMILIES = FamilyRegistry()

# Marian: one direction per model; a multi-target model reads ">>por<<" (the manifest's token)
# before the text. Post-norm, decoding from a zero embedding.
MARIAN = FAMILIES.register(Family(
    name="marian", title="Marian", multilingual=False, lang_tokens=NoLangTokens(),
    source_lead="target", target_prefix=False, spm_files=("source.spm", "target.spm"),
    hf_model_type="marian", pre_norm=False, zero_start_embedding=True))
# NLLB (non-legacy tokenizer) and M2M100 read: source language token, text, </s>; decoding
# starts from the target language token. Both are M2M100 checkpoints; the tokenizer tells them
# apart.
NLLB = FAMILIES.register(Family(
    name="nllb", title="NLLB-200", multilingual=True, lang_tokens=TableLangTokens(NLLB_CODES),
    source_lead="source", target_prefix=True, spm_files=("sentencepiece.bpe.model",),
    hf_model_type="m2m_100", hf_tokenizer="nllb"))
M2M100 = FAMILIES.register(Family(
    name="m2m100", title="M2M100", multilingual=True,
    lang_tokens=PatternLangTokens("__", "__"), source_lead="source", target_prefix=True,
    spm_files=("sentencepiece.bpe.model",), hf_model_type="m2m_100"))


def default_lang_token(family: str, lang: str, families: FamilyRegistry = FAMILIES) -> str | None:
    """The language token ``family`` uses for ``lang``, or None when its scheme has none."""
    return families.get(family).lang_tokens.token(lang)


def iso_from_token(family: str, token: str, families: FamilyRegistry = FAMILIES) -> str | None:
    """The ISO 639-1 code of a model's language token (the reverse of ``default_lang_token``),
    or None for a language the gateway has no code for."""
    return families.get(family).lang_tokens.iso(token)
