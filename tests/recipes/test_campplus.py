"""The CAM++ recipe's helpers: the ablation table over seeds, one name per real person, two
people under one name."""

from __future__ import annotations

import numpy as np

from recipes.campplus.local import ablation_table
from recipes.campplus.local.heldout_real import MIXED_VOICES, clean_identities
from recipes.campplus.local.voice_purity import split_in_two, two_people

HEADER = "epoch,step,train_loss,val_der,val_missed,val_false_alarm,val_confusion\n"


def _run(folder, rows):
    folder.mkdir(parents=True)
    (folder / "metrics.csv").write_text(HEADER + "".join(rows))


def test_ablation_table_mean_and_spread_over_seeds(tmp_path):
    _run(tmp_path / "sortformer_seed1", ["0,99,0.4,,,,\n", "0,399,0.3,30.0,10.0,5.0,15.0\n"])
    _run(tmp_path / "sortformer_seed2", ["0,399,0.3,34.0,12.0,6.0,16.0\n", "0,409,0.3,,,,\n"])
    _run(tmp_path / "nemo_seed1", ["0,199,0.5,50.0,20.0,10.0,20.0\n"])
    table = ablation_table.ablation_table(tmp_path, ["sortformer", "nemo", "pe_sort"], ["1", "2"])
    rows = table.splitlines()
    assert "| 2 | 32.00 ± 2.83 | 11.00 ± 1.41 |" in rows[2] and rows[2].endswith("30.00, 34.00 |")
    assert "| 1 | 50.00 |" in rows[3]
    assert "| 0 | n/m |" in rows[4]
    # a run counts as done once it validated at its last step
    assert ablation_table.main([str(tmp_path / "sortformer_seed1"), "--done", "400"]) == 0
    assert ablation_table.main([str(tmp_path / "nemo_seed1"), "--done", "400"]) == 1
    assert ablation_table.main([str(tmp_path / "pe_sort_seed1"), "--done", "400"]) == 1


def test_real_voices_get_one_name_per_person():
    def row(voice, group):
        return {"speaker_id": voice, "base_voice": voice, "group": group}

    rows = [
        row("real-pocketsphinx.numbers", "real-pocketsphinx.ps-dev"),
        row("real-pocketsphinx.goforward", "real-pocketsphinx.ps-dev"),
        row("real-klettres.fr", "real-klettres.fr"),
        *(row(voice, voice) for voice in MIXED_VOICES),
    ]
    clean = clean_identities(rows)
    assert [r["speaker_id"] for r in clean] == ["real-pocketsphinx.ps-dev"] * 2 + [
        "real-klettres.fr"
    ]
    assert rows[0]["speaker_id"] == "real-pocketsphinx.numbers"  # the input is left alone


def test_a_voice_of_two_people_is_flagged_and_one_person_with_an_odd_window_is_not():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 192))

    def windows(centre, n):
        rows = centre + 0.3 * rng.normal(size=(n, 192))
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    labels, similarity = split_in_two(np.concatenate([windows(a, 12), windows(b, 9)]))
    assert sorted(np.bincount(labels)) == [9, 12] and similarity < 0.2
    assert two_people(labels, similarity)
    # one voice whose windows split in two alike parts, and one with a single odd window
    labels, similarity = split_in_two(windows(a, 20))
    assert similarity > 0.8 and not two_people(labels, similarity)
    labels, similarity = split_in_two(np.concatenate([windows(a, 20), windows(b, 1)]))
    assert similarity < 0.2 and not two_people(labels, similarity)
