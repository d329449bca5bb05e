"""The chapters' claims files (notebooks/*/claims.py): well formed, and ``benchmarks/chapter_claims.py``
passes the claims that hold and fails one that does not. The slow experiments (chapters 4 and 7-9, on
Fashion-MNIST) run in ``python benchmarks/chapter_claims.py``, not here."""
from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest

from tests.support.paths import REPO


def _benchmark():
    spec = importlib.util.spec_from_file_location("chapter_claims", REPO / "benchmarks" / "chapter_claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chapter_claims = _benchmark()


@pytest.mark.parametrize("path", chapter_claims.claims_files([]), ids=lambda p: p.parent.name)
def test_every_claim_names_where_it_is_stated_and_what_it_rests_on(path):
    module = chapter_claims.load(path)
    assert callable(module.measure) and module.CLAIMS
    for claim in module.CLAIMS:
        assert set(claim) == {"where", "claim", "values", "holds"}, claim
        assert claim["where"] and claim["claim"] and claim["values"] and callable(claim["holds"])


def test_the_small_chapters_claims_hold_over_three_seeds(capsys):
    assert chapter_claims.main(["02", "03"]) == 0
    printed = capsys.readouterr().out
    assert "02-autograd" in printed and "03-linear-regression" in printed and "FAILS" not in printed


def test_a_claim_that_fails_on_one_seed_fails_the_run(capsys):
    claims = SimpleNamespace(measure=lambda seed: {"accuracy": 0.7 + 0.1 * seed},
                             CLAIMS=[{"where": "made up", "claim": "above 0.75", "values": ["accuracy"],
                                      "holds": lambda m: m["accuracy"] > 0.75}])
    rows = chapter_claims.check(claims, [0, 1, 2])
    assert rows[0]["held"] == 2 and not chapter_claims.report("made-up", rows)
    assert "FAILS on 2/3 seeds" in capsys.readouterr().out
