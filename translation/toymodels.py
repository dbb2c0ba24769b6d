"""Random-weight CTranslate2 models with real SentencePiece tokenizers, built in seconds with
numpy (no torch, no download). Tests run the real engine on tiny ones; the batching benchmark
builds one with OPUS-MT base dimensions. Their output is gibberish, but it costs what a trained
model of the same shape costs, and every code path (tokenisation, target prefixes, batching,
detokenisation) is the production one."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from babelcast.translation.families import FAMILIES, FamilyRegistry
from babelcast.translation.modeldir import Manifest

# A few lines of live-commerce chat, enough for SentencePiece to learn pieces from.
CHAT_LINES = (
    "how much is the red one?", "price?", "link please", "is shipping free to Brazil?",
    "quanto custa o vermelho?", "tem frete grátis?", "manda o link", "que lindo ❤️",
    "¿cuánto cuesta?", "envían a México?", "me encanta este color", "what size is she wearing",
    "does it come in blue", "I just bought two!", "comprei dois agora", "is it waterproof?",
    "can you show the back", "mostra de novo por favor", "when does the sale end",
    "hello from Lisbon 👋", "olá de São Paulo", "hola desde Madrid", "the price is too high",
    "muito caro", "add to cart now", "does it work with iphone", "what's the battery life",
    "qual o tamanho", "is this original?", "love it", "shipping to Portugal?", "yes", "no",
    "thank you so much", "obrigada", "gracias", "size M or L?", "restock when?", "sold out?",
)


@dataclass(frozen=True)
class ModelDims:
    """Transformer dimensions. ``OPUS_MT_BASE`` is the shape of the Helsinki-NLP models."""

    layers: int = 1
    d_model: int = 16
    heads: int = 2
    ffn: int = 32
    vocab: int = 0  # 0: just the SentencePiece pieces and language tokens; else pad to this


OPUS_MT_BASE = ModelDims(layers=6, d_model=512, heads=8, ffn=2048, vocab=32_000)
TINY = ModelDims()


def train_sentencepiece(out: Path, lines: Iterable[str] = CHAT_LINES, vocab_size: int = 120,
                        seed_text_repeat: int = 3, model_type: str = "unigram") -> Path:
    """Train a small SentencePiece model (``unigram`` or ``bpe``) on ``lines``; write it to
    ``out``."""
    import sentencepiece as spm

    model = io.BytesIO()
    data = [line for line in lines for _ in range(seed_text_repeat)]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(data), model_writer=model, vocab_size=vocab_size,
        hard_vocab_limit=False, character_coverage=1.0, model_type=model_type,
        # The CTranslate2 vocabulary carries the control tokens; SentencePiece only splits text.
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, num_threads=1, minloglevel=2,
        )
    out = Path(out)
    out.write_bytes(model.getvalue())
    return out


def _pieces(spm_path: Path) -> list[str]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_path))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not sp.is_unknown(i)]


def build_random_model(out_dir: str | Path, *, family: str = "marian",
                       pairs: Sequence[tuple[str, str]] = (("en", "pt"),),
                       languages: Sequence[str] = ("en", "pt", "es"),
                       dims: ModelDims = TINY, quantization: str = "int8", seed: int = 0,
                       spm_file: Path | None = None,
                       families: FamilyRegistry = FAMILIES) -> Path:
    """Write a complete model directory (CTranslate2 model with random weights, SentencePiece
    model, manifest) for ``family``: a pair family such as ``marian`` (``pairs``) or a
    multilingual one such as ``nllb``/``m2m100`` (``languages``, with their language tokens in
    the vocabulary). The family's registration gives its files, tokens and shape."""
    import shutil

    import numpy as np
    from ctranslate2.specs import common_spec, transformer_spec

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    family_spec = families.get(family)
    spm_name, *other_spm = family_spec.spm_files
    if spm_file is None:
        train_sentencepiece(out / spm_name)
    else:
        shutil.copyfile(spm_file, out / spm_name)
    for name in other_spm:  # a separate target model: the same pieces will do
        shutil.copyfile(out / spm_name, out / name)

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    lang_tokens = {lang: family_spec.lang_tokens.token(lang) or "" for lang in languages}
    vocab = specials + [p for p in _pieces(out / spm_name) if p not in specials]
    if family_spec.multilingual:
        vocab += [t for t in lang_tokens.values() if t not in vocab]
    vocab += [f"madeupword{i}" for i in range(max(0, dims.vocab - len(vocab)))]

    # Marian is post-norm and starts decoding from a zero embedding; NLLB and M2M100 are
    # pre-norm (see ctranslate2.converters.transformers' loaders for these families).
    spec = transformer_spec.TransformerSpec.from_config(
        dims.layers, dims.heads, pre_norm=family_spec.pre_norm,
        activation=common_spec.Activation.RELU)
    rng = np.random.default_rng(seed)
    _fill_random(spec, len(vocab), dims, rng)
    spec.decoder.start_from_zero_embedding = family_spec.zero_start_embedding
    spec.config.bos_token = "<s>"
    spec.config.eos_token = "</s>"
    spec.config.unk_token = "<unk>"
    spec.config.decoder_start_token = "</s>"
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize(quantization=quantization)
    spec.save(str(out))

    target_spm = family_spec.spm_files[-1]
    if family_spec.multilingual:
        manifest = Manifest(family=family, source_spm=spm_name, target_spm=target_spm,
                            languages=list(languages), lang_tokens=lang_tokens,
                            origin="random weights (babelcast toy model)",
                            quantization=quantization, families=families)
    else:
        manifest = Manifest(family=family, source_spm=spm_name, target_spm=target_spm,
                            pairs=[tuple(p) for p in pairs],  # type: ignore[misc]
                            origin="random weights (babelcast toy model)",
                            quantization=quantization, families=families)
    manifest.write(out)
    return out


def _fill_random(spec: object, vocab_size: int, dims: ModelDims, rng: object) -> None:
    """Give every weight of a ``TransformerSpec`` a random value of the right shape."""
    import numpy as np

    d, f = dims.d_model, dims.ffn
    gen: np.random.Generator = rng  # type: ignore[assignment]

    def w(*shape: int) -> np.ndarray:
        return gen.normal(0.0, 0.02 if d >= 256 else 0.2, size=shape).astype(np.float32)

    def norm(ln: object) -> None:
        ln.gamma = np.ones(d, np.float32)  # type: ignore[attr-defined]
        ln.beta = np.zeros(d, np.float32)  # type: ignore[attr-defined]

    def linear(lin: object, out_dim: int, in_dim: int) -> None:
        lin.weight = w(out_dim, in_dim)  # type: ignore[attr-defined]
        lin.bias = np.zeros(out_dim, np.float32)  # type: ignore[attr-defined]

    def ffn(spec_ffn: object) -> None:
        norm(spec_ffn.layer_norm)  # type: ignore[attr-defined]
        linear(spec_ffn.linear_0, f, d)  # type: ignore[attr-defined]
        linear(spec_ffn.linear_1, d, f)  # type: ignore[attr-defined]

    enc, dec = spec.encoder, spec.decoder  # type: ignore[attr-defined]
    enc.embeddings[0].weight = w(vocab_size, d)
    dec.embeddings.weight = w(vocab_size, d)
    for part in (enc, dec):
        if hasattr(part, "layer_norm"):
            norm(part.layer_norm)
    for layer in enc.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)  # fused q, k, v
        linear(layer.self_attention.linear[1], d, d)
        ffn(layer.ffn)
    for layer in dec.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)      # query, from the decoder
        linear(layer.attention.linear[1], 2 * d, d)  # fused k, v, from the encoder
        linear(layer.attention.linear[2], d, d)
        ffn(layer.ffn)
    linear(dec.projection, vocab_size, d)
