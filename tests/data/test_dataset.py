import json

import numpy as np
import pytest
import soundfile as sf
import torch

from diarize.audio.features import num_model_frames
from diarize.data.dataset import DiarizationDataset, collate_windows, load_checked_manifest
from diarize.errors import DiarizeError


def _write_set(folder, durations=(12.0, 5.0), rttm=True):
    rng = np.random.default_rng(0)
    lines = []
    for index, duration in enumerate(durations):
        audio = (0.05 * rng.standard_normal(int(duration * 16000))).astype(np.float32)
        sf.write(folder / f"rec{index}.wav", audio, 16000)
        record = {"audio_filepath": f"rec{index}.wav"}
        if rttm:
            (folder / f"rec{index}.rttm").write_text(
                f"SPEAKER rec{index} 1 0.50 2.00 <NA> <NA> A <NA> <NA>\n"
                f"SPEAKER rec{index} 1 3.00 1.50 <NA> <NA> B <NA> <NA>\n"
            )
            record["rttm_filepath"] = f"rec{index}.rttm"
        lines.append(json.dumps(record))
    manifest = folder / "manifest.json"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def test_validation_tiles_and_targets_match_audio(tmp_path):
    entries, turns = load_checked_manifest(_write_set(tmp_path))
    dataset = DiarizationDataset(entries, turns, 4.0, 3, random_crop=False, normalize="none")
    # 12 s -> 3 tiles; 5 s -> 4 s + 1 s
    assert [(w.entry, w.start, w.length) for w in dataset.windows] == [
        (0, 0.0, 4.0),
        (0, 4.0, 4.0),
        (0, 8.0, 4.0),
        (1, 0.0, 4.0),
        (1, 4.0, 1.0),
    ]
    item = dataset[0]
    assert item["audio"].shape == (64000,)
    assert item["targets"].shape == (num_model_frames(64000), 3)
    assert item["targets"][:, 0].sum() > 0 and item["targets"][:, 1].sum() > 0
    assert torch.equal(dataset[1]["audio"], dataset[1]["audio"])  # validation is deterministic


def test_training_crops_are_random_but_seeded(tmp_path):
    entries, turns = load_checked_manifest(_write_set(tmp_path))
    dataset = DiarizationDataset(entries, turns, 4.0, 2, random_crop=True, gain_db=6.0)
    assert len(dataset) == 3 + 2  # one crop per 4 s of audio, rounded up
    torch.manual_seed(1)
    first = [dataset[0]["offset"] for _ in range(4)]
    torch.manual_seed(1)
    again = [dataset[0]["offset"] for _ in range(4)]
    assert first == again
    assert len(set(first)) == 4
    assert all(0 <= offset <= 8.0 for offset in first)


def test_level_normalisation(tmp_path):
    entries, turns = load_checked_manifest(_write_set(tmp_path))
    rms = DiarizationDataset(entries, turns, 4.0, 2, random_crop=False, normalize="rms")[0]
    assert float(rms["audio"].pow(2).mean().sqrt()) == pytest.approx(0.05, rel=1e-3)
    peak = DiarizationDataset(entries, turns, 4.0, 2, random_crop=False, normalize="peak")[0]
    assert float(peak["audio"].abs().max()) == pytest.approx(0.9, rel=1e-4)


def test_collate_pads_with_lengths(tmp_path):
    entries, turns = load_checked_manifest(_write_set(tmp_path))
    dataset = DiarizationDataset(entries, turns, 4.0, 2, random_crop=False)
    batch = collate_windows([dataset[0], dataset[4]])
    assert batch["audio"].shape == (2, 64000)
    assert batch["audio_lengths"].tolist() == [64000, 16000]
    assert batch["target_lengths"].tolist() == [50, 13]
    assert batch["targets"].shape == (2, 50, 2)
    assert torch.all(batch["audio"][1, 16000:] == 0)


def test_missing_files_are_named(tmp_path):
    manifest = _write_set(tmp_path)
    (tmp_path / "rec1.rttm").unlink()
    with pytest.raises(DiarizeError, match="rec1.rttm: no such RTTM file"):
        load_checked_manifest(manifest)
    with pytest.raises(DiarizeError, match="nope.json"):
        load_checked_manifest(tmp_path / "nope.json")
    bare = _write_set(
        tmp_path / "bare" if (tmp_path / "bare").mkdir() is None else tmp_path, rttm=False
    )
    with pytest.raises(DiarizeError, match="rttm_filepath"):
        load_checked_manifest(bare)


def test_rttm_with_several_uris_is_filtered(tmp_path):
    manifest = _write_set(tmp_path, durations=(5.0,))
    (tmp_path / "rec0.rttm").write_text(
        "SPEAKER other 1 0.0 4.0 <NA> <NA> X <NA> <NA>\n"
        "SPEAKER rec0 1 1.0 1.0 <NA> <NA> A <NA> <NA>\n"
    )
    _, turns = load_checked_manifest(manifest)
    assert [turn.speaker for turn in turns[0]] == ["A"]
