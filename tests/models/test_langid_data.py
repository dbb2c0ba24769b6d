"""The chat development set meets its brief, and the evaluation script's pieces work."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

from babelcast.langid import ISO_639_1, Detector

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "benchmarks" / "langid_eval.py"


@pytest.fixture(scope="module")
def ev():
    spec = importlib.util.spec_from_file_location("langid_eval", EVAL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["langid_eval"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("langid_eval", None)


def test_dev_set_meets_the_brief(ev) -> None:
    rows = ev.load()
    assert len(rows) >= 400
    langs = Counter(r.lang for r in rows)
    required = {"en", "pt", "es", "zh", "ko", "ja", "de", "fr", "id", "vi", "th", "ar", "ru",
                "tr"}
    assert required <= set(langs)
    assert all(langs[g] >= 25 for g in required)
    assert langs["und"] >= 20
    assert set(langs) - {"und"} <= ISO_639_1
    short = sum(r.bucket == "1-3 words" for r in rows)
    assert short >= len(rows) / 3
    with_lang = [r for r in rows if r.lang != "und"]
    mismatched = sum(r.declared != r.lang for r in with_lang) / len(with_lang)
    assert 0.15 <= mismatched <= 0.3
    assert all(r.declared in ISO_639_1 for r in rows)
    assert {r.fold for r in rows} == {0, 1, 2, 3, 4, 5}
    assert len({r.text for r in rows}) == len(rows)  # no duplicates


@pytest.mark.parametrize(("text", "n"), [
    ("😍😍", 0), ("preço?", 1), ("link pls", 2), ("tem no tamanho G?", 3), ("多少钱", 2),
    ("这个多少钱", 3), ("ราคาเท่าไหร่คะ", 4), ("iPhone 15 케이스 있어요?", 3),
])
def test_word_count(ev, text: str, n: int) -> None:
    assert ev.word_count(text) == n


def test_tuning_picks_a_grid_point_and_reports_held_out_accuracy(ev) -> None:
    rows = ev.load()[::7]  # a slice keeps the test quick
    fixed = {"confident_long": 0.8, "candidate_min": 0.05, "short_words": 5}
    thresholds, report = ev.tune(Detector(), rows, fixed=fixed)
    assert thresholds.confident_long == 0.8
    assert set(report) == {"tune", "held_out", "held_out_best_possible", "cv5"}
    assert all(0.0 <= v <= 1.0 for v in report.values())
    assert report["held_out"] <= report["held_out_best_possible"]
