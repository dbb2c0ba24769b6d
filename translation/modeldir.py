"""Model directories: a CTranslate2 model, its SentencePiece files and a small manifest.

```
opus-mt-en-pt/
  model.bin  config.json  shared_vocabulary.json   (CTranslate2, from the converter)
  source.spm  target.spm                           (SentencePiece; one file for NLLB/M2M100)
  manifest.json                                    (written by ``babelcast models convert``)
```

``inspect_model_dir`` checks all of that before anything is loaded, so that a missing or
corrupt directory fails with a message that names the file and says what to do.
"""

from __future__ import annotations

import json
from dataclasses import InitVar, dataclass, field, fields
from pathlib import Path
from typing import Any

from babelcast.translation.engine import EngineError
from babelcast.translation.families import FAMILIES, Family, FamilyRegistry

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "babelcast-model"
MANIFEST_VERSION = 1
# What the CTranslate2 converter writes; the vocabulary is either shared or split in two.
CT2_FILES = ("model.bin", "config.json")
CT2_VOCABULARIES = (("shared_vocabulary.json",),
                    ("source_vocabulary.json", "target_vocabulary.json"),
                    ("shared_vocabulary.txt",),
                    ("source_vocabulary.txt", "target_vocabulary.txt"))


class ModelDirError(EngineError):
    """A model directory is missing, incomplete or corrupt. The message names the file."""


@dataclass
class Manifest:
    """What babelcast needs to know about a model that CTranslate2's files do not say.

    ``pairs`` lists the directions of a Marian model (usually one); ``languages`` those of a
    multilingual model (every pair among them). ``lang_tokens`` maps ISO 639-1 codes to the
    model's language tokens: the target prefix for NLLB/M2M100 (``por_Latn``, ``__pt__``), or
    the ``>>por<<`` source token of a multi-target Marian model.

    ``family`` is checked against ``families`` (the default registry unless given), and the
    ``Family`` it names is kept as ``family_spec``: what the family says decides whether
    ``pairs`` or ``languages`` is needed and which language tokens are the default."""

    family: str
    source_spm: str
    target_spm: str
    pairs: list[tuple[str, str]] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    lang_tokens: dict[str, str] = field(default_factory=dict)
    origin: str = ""
    quantization: str = ""
    format: str = MANIFEST_FORMAT
    version: int = MANIFEST_VERSION
    families: InitVar[FamilyRegistry | None] = None
    family_spec: Family = field(init=False, repr=False, compare=False)

    def __post_init__(self, families: FamilyRegistry | None) -> None:
        # UnknownFamily is a ValueError: read_manifest reports it as an invalid manifest.
        self.family_spec = (FAMILIES if families is None else families).get(self.family)
        self.pairs = [(str(s), str(t)) for s, t in self.pairs]
        spec = self.family_spec
        if spec.multilingual:
            needed = set(self.languages)  # the source token, the target prefix: every one
            used = list(self.languages)
        elif not self.pairs:
            raise ValueError(f"a {spec.title} model needs at least one pair in 'pairs'")
        else:
            needed = {t for _, t in self.pairs} if spec.target_prefix else set()
            used = list(dict.fromkeys(lang for pair in self.pairs for lang in pair))
        for lang in used:
            token = self.lang_tokens.get(lang) or spec.lang_tokens.token(lang)
            if token:
                self.lang_tokens[lang] = token
            elif lang in needed:
                raise ValueError(f"no {self.family} language token is known for {lang!r}: "
                                 f"add it to lang_tokens in {MANIFEST}")
        if self.multilingual and len(self.languages) < 2:
            raise ValueError("a multilingual model needs at least two 'languages'")

    @property
    def multilingual(self) -> bool:
        return self.family_spec.multilingual

    def all_pairs(self) -> list[tuple[str, str]]:
        """Every direction the model translates."""
        if self.multilingual:
            return [(s, t) for s in self.languages for t in self.languages if s != t]
        return list(self.pairs)

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        data["pairs"] = [list(p) for p in self.pairs]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any],
                  families: FamilyRegistry | None = None) -> Manifest:
        known = {f.name for f in fields(cls) if f.init}
        return cls(**{k: v for k, v in data.items() if k in known}, families=families)

    def write(self, model_dir: Path) -> Path:
        """Write ``manifest.json`` into ``model_dir``."""
        path = Path(model_dir) / MANIFEST
        path.write_text(self.to_json(), encoding="utf-8")
        return path


def read_manifest(model_dir: Path, families: FamilyRegistry | None = None) -> Manifest:
    """The manifest of ``model_dir``; ``ModelDirError`` naming the file when it is missing or
    invalid. ``families``: the registry its family is looked up in (default: every family
    babelcast ships)."""
    path = Path(model_dir) / MANIFEST
    if not path.is_file():
        raise ModelDirError(
            f"{path} is missing: {model_dir} is not a babelcast model directory. Create one "
            f"with `babelcast models convert <model> --out {model_dir}`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"'format' is not {MANIFEST_FORMAT!r}")
        if int(data.get("version", 0)) > MANIFEST_VERSION:
            raise ValueError(f"manifest version {data['version']} is newer than this babelcast "
                             f"understands ({MANIFEST_VERSION}); upgrade babelcast")
        return Manifest.from_dict(data, families)
    except (ValueError, TypeError) as exc:
        raise ModelDirError(f"{path} is invalid: {exc}") from None


def inspect_model_dir(model_dir: str | Path,
                      families: FamilyRegistry | None = None) -> Manifest:
    """Check that ``model_dir`` holds everything a ``CTranslate2Engine`` loads and return its
    manifest. Raises ``ModelDirError`` naming the first missing or corrupt file."""
    root = Path(model_dir)
    if not root.exists():
        raise ModelDirError(
            f"model directory {root} does not exist: give the folder that "
            f"`babelcast models convert` wrote (it holds model.bin and {MANIFEST}), or create "
            f"it with `babelcast models convert <Hugging Face model id> --out {root}` "
            f"(docs/models.md)")
    if not root.is_dir():
        raise ModelDirError(f"{root} is not a directory (a model is a directory: "
                            f"model.bin, config.json, vocabulary, SentencePiece files, "
                            f"{MANIFEST})")
    manifest = read_manifest(root, families)
    for name in CT2_FILES:
        path = root / name
        if not path.is_file():
            raise ModelDirError(f"{path} is missing: the CTranslate2 model is incomplete. "
                                f"Convert the model again with `babelcast models convert`")
        if path.stat().st_size == 0:
            raise ModelDirError(f"{path} is empty: the model is corrupt. Convert it again")
    try:
        json.loads((root / "config.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelDirError(f"{root / 'config.json'} is corrupt ({exc}). "
                            f"Convert the model again") from None
    if not any(all((root / n).is_file() for n in names) for names in CT2_VOCABULARIES):
        raise ModelDirError(f"{root / 'shared_vocabulary.json'} is missing (nor are source_ and "
                            f"target_vocabulary.json there): convert the model again")
    for name in dict.fromkeys((manifest.source_spm, manifest.target_spm)):
        path = root / name
        if not path.is_file():
            raise ModelDirError(f"{path} is missing: the SentencePiece model named in "
                                f"{MANIFEST} must be in the model directory (`babelcast models "
                                f"convert` copies it)")
    return manifest
