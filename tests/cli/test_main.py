"""The console script's own behaviour (diarize.cli.main)."""

import os
from pathlib import Path

from diarize.cli.main import SPINCOUNT, main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "scoring"
SCORE = ["score", "--ref", str(FIXTURES / "ref.rttm"), "--hyp", str(FIXTURES / "hyp.rttm")]


def test_openmp_spinning_is_lowered_unless_the_user_set_it(monkeypatch, capsys):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    assert main(SCORE) == 0
    assert os.environ["GOMP_SPINCOUNT"] == SPINCOUNT
    monkeypatch.setenv("GOMP_SPINCOUNT", "123")
    assert main(SCORE) == 0
    assert os.environ["GOMP_SPINCOUNT"] == "123"
