"""The chat stage end to end with the real embedded en<->pt engine: the comments of the issue
that reported live chat mistranslated, as a viewer would send them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from babelcast.translation import EmbeddedEngine, TranslationService


@pytest.fixture(scope="module")
def service() -> Iterator[TranslationService]:
    svc = TranslationService([EmbeddedEngine()])
    yield svc
    svc.close()


def translate(service: TranslationService, text: str, src: str, tgt: str,
              normalise: bool = True) -> str:
    out = asyncio.run(service.translate_one(text, src, tgt, normalise=normalise))
    assert out.translated
    return out.text


@pytest.mark.parametrize(("text", "src", "tgt", "must", "never"), [
    ("vc manda pra curitiba?", "pt", "en", ["do you", "Curitiba"], ["vc", "for curitiba"]),
    ("entrega em porto alegre?", "pt", "en", ["Porto Alegre"], ["cheerful", "port?"]),
    ("pq o preço mudou?", "pt", "en", ["why", "price"], ["pq"]),
    ("tb quero o rosa", "pt", "en", ["also want"], ["tb"]),
    ("ta esgotado o azul?", "pt", "en", ["sold out", "blue"], ["exhausted"]),
    ("bom dia galera", "pt", "en", ["good morning, everyone"], ["Galera", "Day of"]),
    ("nao gostei da cor", "pt", "en", ["didn't like the color"], ["noo"]),
    ("u guys r the best", "en", "pt", ["vocês são os melhores"], ["caras", " r "]),
    ("when is ur next live?", "en", "pt", ["quando é", "próxima live"], ["ur", "ao vivo"]),
])
def test_the_issue_comments_read_as_the_viewer_meant(service: TranslationService, text: str,
                                                     src: str, tgt: str, must: list[str],
                                                     never: list[str]) -> None:
    out = translate(service, text, src, tgt)
    for part in must:
        assert part in out, (text, out)
    for part in never:
        assert part not in out, (text, out)
    # The writer wrote in lower case, so does the translation (names and "I" keep capitals).
    assert out[:1].islower() or out.startswith("I "), out


def test_the_raw_engine_still_gets_them_wrong(service: TranslationService) -> None:
    # What the stage fixes: the model alone on the comment as written.
    assert "reef" in translate(service, "moro em recife", "pt", "en", normalise=False)
    assert "Recife" in translate(service, "moro em recife", "pt", "en")


def test_reactions_and_exclamations_need_no_model(service: TranslationService) -> None:
    before = service.stats.engine_calls
    assert translate(service, "kkkkkkk", "pt", "en") == "haha"
    assert translate(service, "obrigadaaaa!!! ❤️", "pt", "en") == "thank you!!! ❤️"
    assert translate(service, "lol", "en", "pt") == "kkkk"
    assert service.stats.engine_calls == before


def test_all_capitals_come_back_in_capitals(service: TranslationService) -> None:
    assert translate(service, "NAO GOSTEI DA COR!!!", "pt", "en") == \
        "I DIDN'T LIKE THE COLOR!!!"
