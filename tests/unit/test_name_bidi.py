import pytest

from babelcast.gateway.wire.client import validate_name
from babelcast.gateway.wire.errors import ProtocolError


@pytest.mark.parametrize("raw, name", [
    ("\u202eevil", "evil"),  # RLO
    ("Ana\u2067", "Ana"),  # an RLI never closed
    ("\u202ax\u202c \u2066y\u2069 \u2068z", "x y z"),  # every embedding, override and isolate
    ("\u05e9\u05dc\u05d5\u05dd", "\u05e9\u05dc\u05d5\u05dd"),  # right-to-left letters stay
    ("Zé\u200f", "Zé\u200f"),  # a mark (RLM) reorders nothing around the name: kept
    ("\u202e\u2067", "guest"),  # nothing left: the fallback
])
def test_names_lose_their_bidi_controls(raw: str, name: str) -> None:
    assert validate_name(raw, 32, "guest") == name


def test_the_length_limit_counts_what_is_left() -> None:
    assert validate_name("\u202e" * 10 + "a" * 32, 32, "guest") == "a" * 32
    with pytest.raises(ProtocolError):
        validate_name("a" * 33, 32, "guest")
