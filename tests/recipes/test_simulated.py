"""The simulated recipe's helpers: speaker counts a pool can fill, the ablation table."""

from __future__ import annotations

import json

import pytest

from diarize.errors import DiarizeError
from recipes.simulated.local import ablation_table, pool_counts


def _pool(path, speakers):
    rows = [{"audio_filepath": f"{s}.wav", "duration": 1.0, "speaker_id": s} for s in speakers]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_counts_above_the_pool_are_dropped(tmp_path):
    manifest = _pool(tmp_path / "dev.json", ["a", "b", "a"])
    assert pool_counts.pool_size(manifest) == 2
    assert pool_counts.counts_that_fit("[1,2,2,3,3,4]", 2) == [1, 2, 2]
    assert pool_counts.counts_that_fit("2-4", 3) == [2, 3]
    assert pool_counts.counts_that_fit("3", 2) == []
    with pytest.raises(DiarizeError, match="num_speakers"):
        pool_counts.counts_that_fit("[0,x]", 2)


def test_pool_counts_command(tmp_path, capsys):
    manifest = _pool(tmp_path / "dev.json", ["a", "b"])
    assert pool_counts.main([str(manifest), "[1,2,2,3]"]) == 0
    assert capsys.readouterr().out == "[1,2,2]\n"  # as num_speakers= takes it
    assert pool_counts.main([str(manifest), "[3,4]"]) == 1
    assert "2 speakers, too few" in capsys.readouterr().err
    assert pool_counts.main([str(tmp_path / "missing.json"), "[1]"]) == 1
    assert capsys.readouterr().err.startswith("pool_counts: ")


def test_ablation_table(tmp_path):
    for arm, der in (("pe", 10.0), ("pil", 20.5)):
        for collar, extra in (("0.25", 0.0), ("0", 5.0)):
            path = tmp_path / arm / f"sim_test_c{collar}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps({"overall": {"der": der + extra}, "files": {}}))
    table = ablation_table.ablation_table(tmp_path, ["pe", "pil"], ["sim_test"])
    assert table == (
        "| model | sim_test DER c0.25 / c0 |\n"
        "|---|---:|\n"
        "| SortFormer (permutation encoding) + Sort loss | 10.00% / 15.00% |\n"
        "| Transformer + PIL | 20.50% / 25.50% |\n"
    )
