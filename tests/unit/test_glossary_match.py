"""Matching: glossary terms (overlaps, longest match, case, whole words, CJK) and the spans
that are always protected (URLs, e-mail, mentions, hashtags, emoji, prices, codes)."""

from __future__ import annotations

import itertools

import pytest

from babelcast.glossary import Glossary, Term, find_spans, glossary_hits


def spans(text: str, glossary: Glossary | None = None, tgt: str | None = "pt") -> list[tuple]:
    return [(s.kind, s.text) for s in find_spans(text, glossary, tgt)]


def terms(text: str, glossary: Glossary) -> list[str]:
    return [s.text for s in find_spans(text, glossary, "pt", patterns=False)]


# --- glossary terms ---------------------------------------------------------------------------

def test_longest_match_wins() -> None:
    g = Glossary("g", keep=("Pink", "Pink Friday", "Pink Friday Nails"))
    assert terms("I love Pink Friday Nails and Pink stuff", g) == ["Pink Friday Nails", "Pink"]
    assert glossary_hits("I love Pink Friday Nails and Pink stuff", g) == (
        "Pink Friday Nails", "Pink")


def test_overlapping_terms_longest_wins_then_leftmost() -> None:
    g = Glossary("g", keep=("Pink Friday", "Friday Nails Kit"))
    assert terms("the Pink Friday Nails Kit", g) == ["Friday Nails Kit"]
    g = Glossary("g", keep=("Pink Friday", "Friday Nail"))  # equal lengths: leftmost
    assert terms("the Pink Friday Nail", g) == ["Pink Friday"]


def test_case_insensitive_by_default_and_hits_use_the_glossary_spelling() -> None:
    g = Glossary("g", keep=("Pink Friday Nails",))
    found = find_spans("amei pink FRIDAY nails!", g, "en")
    assert [(s.text, s.output, s.term) for s in found] == [
        ("pink FRIDAY nails", "pink FRIDAY nails", "Pink Friday Nails")]
    assert glossary_hits("amei pink FRIDAY nails!", g) == ("Pink Friday Nails",)


def test_case_sensitive_terms() -> None:
    g = Glossary("g", terms=(Term("GLOW", case_sensitive=True), Term("Glow Kit")))
    assert terms("GLOW glow Glow GLOW KIT", g) == ["GLOW", "GLOW KIT"]
    # The same spelling twice is a duplicate only within one case mode.
    Glossary("g", terms=(Term("Glow", case_sensitive=True), Term("GLOW", case_sensitive=True)))


def test_whole_word_matching_and_substrings() -> None:
    g = Glossary("g", keep=("Lumi",))
    assert terms("Luminous Lumi lumis ilumi Lumi's Lumi-Glow Lumi2", g) == [
        "Lumi", "Lumi", "Lumi"]
    g = Glossary("g", terms=(Term("Lumi", whole_word=False),))
    assert terms("LumiGlow iluminar", g) == ["Lumi", "lumi"]


def test_whitespace_in_text_and_terms_is_collapsed() -> None:
    g = Glossary("g", mapped={"lip   gloss": {"pt": "gloss labial"}})
    assert g.all_terms[0].text == "lip gloss"
    found = find_spans("my lip \t gloss", g, "pt")
    assert [(s.text, s.output) for s in found] == [("lip \t gloss", "gloss labial")]


def test_case_folding_maps_back_to_whole_characters() -> None:
    g = Glossary("g", keep=("Straße",))
    assert terms("STRASSE und straße", g) == ["STRASSE", "straße"]
    g = Glossary("g", terms=(Term("stras", whole_word=False),))
    assert terms("Straße", g) == []  # would end inside the "ß" -> "ss"
    g = Glossary("g", keep=("İstanbul Kit",))  # "İ" folds to two characters
    assert terms("the İstanbul Kit, İSTANBUL KIT", g) == ["İstanbul Kit", "İSTANBUL KIT"]


def test_terms_inside_cjk_text() -> None:
    g = Glossary("g", keep=("Pink Friday Nails", "粉红星期五", "ネイル", "네일즈"))
    assert terms("我买了Pink Friday Nails的指甲油", g) == ["Pink Friday Nails"]
    assert terms("我喜欢粉红星期五指甲油", g) == ["粉红星期五"]
    assert terms("ピンクネイルが好き", g) == ["ネイル"]
    assert terms("핑크네일즈를 샀어요", g) == ["네일즈"]


def test_mapped_term_without_translation_for_target_is_found_but_not_protected() -> None:
    g = Glossary("g", mapped={"lip gloss": {"pt": "gloss labial"}})
    found = find_spans("the lip gloss", g, "es")
    assert [(s.kind, s.output) for s in found] == [("term", "")]
    assert glossary_hits("the lip gloss", g) == ("lip gloss",)
    # ... and what it covers is still protected.
    g = Glossary("g", mapped={"Glow20 kit": {"pt": "kit Glow20"}})
    assert [(s.kind, s.text, s.output) for s in find_spans("a Glow20 kit", g, "es")] == [
        ("term", "Glow20 kit", ""), ("code", "Glow20", "Glow20")]


def test_thousands_of_terms() -> None:
    g = Glossary("big", keep=tuple(f"Product {i} Deluxe" for i in range(20_000)))
    text = "is Product 12345 Deluxe better than product 7 deluxe? #ad " * 3
    assert glossary_hits(text, g) == ("Product 12345 Deluxe", "Product 7 Deluxe") * 3


def test_terms_lose_to_longer_protected_spans() -> None:
    g = Glossary("g", keep=("Pink Friday Nails", "nails"))
    assert spans("https://shop.example.com/pink-friday-nails #nails @nails", g) == [
        ("url", "https://shop.example.com/pink-friday-nails"), ("hashtag", "#nails"),
        ("mention", "@nails")]
    assert glossary_hits("see https://shop.example.com/nails", g) == ()


# --- emoji --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("amei 😍", ["😍"]),
    ("top 👍🏽 demais", ["👍🏽"]),  # skin tone
    ("a👍🏿b", ["👍🏿"]),
    ("família 👨‍👩‍👧‍👦 toda", ["👨‍👩‍👧‍👦"]),  # ZWJ sequence
    ("🏃‍♀️💨 corre", ["🏃‍♀️💨"]),  # ZWJ + gender + variation selector, then a run
    ("from 🇧🇷 and 🇵🇹", ["🇧🇷", "🇵🇹"]),  # flags
    ("🇧🇷🇵🇹", ["🇧🇷🇵🇹"]),
    ("🏴󠁧󠁢󠁥󠁮󠁧󠁿 fans", ["🏴󠁧󠁢󠁥󠁮󠁧󠁿"]),  # tag sequence
    ("❤️ love", ["❤️"]),  # variation selector
    ("press 1️⃣ or #️⃣", ["1️⃣", "#️⃣"]),  # keycaps
    ("😂😂😂👍", ["😂😂😂👍"]),  # a run is one span
])
def test_emoji_sequences(text: str, expected: list[str]) -> None:
    assert [t for k, t in spans(text) if k == "emoji"] == expected


def test_no_emoji_in_plain_digits_and_punctuation() -> None:
    assert spans("size 38 or 40, ok? #1 *wow*") == [("hashtag", "#1")]


# --- prices ------------------------------------------------------------------------------------

@pytest.mark.parametrize("price", [
    "R$ 49,90", "R$49,90", "$19.99", "US$ 24.50", "1.299,00 €", "1.299,00€", "€30", "£15.00",
    "¥2,980", "₩39,000", "12,50 €", "BRL 49,90", "49.90 USD", "$1,299.99", "MX$ 350",
    "1\u00a0299,00\u00a0€", "R$ 1.299,90", "₹499",
])
def test_prices_in_several_locales(price: str) -> None:
    assert spans(f"custa {price}, ok?") == [("price", price)]
    assert spans(f"only {price}.") == [("price", price)]


def test_not_prices() -> None:
    assert spans("size 38, 19.99 or 3 weeks, 50% off, $ alone, 2x1") == []


# --- URLs, e-mail, mentions, hashtags, codes --------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("see https://shop.example.com/p/12.", [("url", "https://shop.example.com/p/12")]),
    ("(https://x.example.com/a?b=1&c=2)", [("url", "https://x.example.com/a?b=1&c=2")]),
    ("https://en.wikipedia.org/wiki/Gloss_(cosmetics)!",
     [("url", "https://en.wikipedia.org/wiki/Gloss_(cosmetics)")]),
    ("go to www.example.shop/live now", [("url", "www.example.shop/live")]),
    ("shop.example.com/p/12 and bit.ly/3xYz", [("url", "shop.example.com/p/12"),
                                              ("url", "bit.ly/3xYz")]),
    ("loja.example.com.br!", [("url", "loja.example.com.br")]),
    ("https://x.example.com/a😍", [("url", "https://x.example.com/a"), ("emoji", "😍")]),
    ("看这个https://x.example.com/a。很好", [("url", "https://x.example.com/a")]),
    ("mail ana.b+live@example.com.", [("email", "ana.b+live@example.com")]),
    ("hi @maria_silva, @lumi.beauty.official.", [("mention", "@maria_silva"),
                                                ("mention", "@lumi.beauty.official")]),
    ("@joão_123 olá", [("mention", "@joão_123")]),
    ("#PinkFriday #ação #A12345", [("hashtag", "#PinkFriday"), ("hashtag", "#ação"),
                                   ("hashtag", "#A12345")]),
    ("code GLOW20 or SKU-2231-B", [("code", "GLOW20"), ("code", "SKU-2231-B")]),
    ("use code GLOWUP now, cupom BLACK-FRIDAY", [("code", "GLOWUP"),
                                                 ("code", "BLACK-FRIDAY")]),
    ("order 4829175 and tracking BR123456789XY", [("code", "4829175"),
                                                   ("code", "BR123456789XY")]),
    ("订单A12345号", [("code", "A12345")]),
    ("价格$19.99", [("price", "$19.99")]),
])
def test_protected_spans(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == expected


def test_no_codes_in_plain_words_numbers_and_shouting() -> None:
    assert spans("OMG LOVE IT size 38 in 2024 at 3pm, 10 items, code is ok") == []
    assert spans("on the 21st at 10am, 100ml or 2kg, 64gb") == []


def test_spans_never_overlap_and_are_in_order() -> None:
    text = "@ana 😍 R$ 49,90 https://a.example.com/x?p=R$1 ana@b.example.com #tag GLOW20 😂"
    found = find_spans(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert all(text[s.start:s.end] == s.text for s in found)


def test_one_glossary_shared_by_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    g = Glossary("g", keep=(*tuple(f"Kit {i}" for i in range(500)), "Pink Friday Nails"))
    texts = [f"o Kit {i} e o pink friday nails 😍 R$ {i},90 @ana" for i in range(400)]
    expected = [glossary_hits(t, g) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda t: glossary_hits(t, g), texts)) == expected
