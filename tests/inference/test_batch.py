"""Batch diarization through the library (``Diarizer.diarize_folder``), one process."""

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from diarize.cli.main import main
from diarize.errors import DiarizeError
from diarize.inference.batch import FileStep
from diarize.inference.diarizer import Diarizer
from diarize.inference.distributed import resolve_world, shard_by_duration


def _speechy(seconds, seed=0, sr=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    voice = np.sin(2 * np.pi * (140 + 40 * np.sin(3 * t)) * t) * (np.sin(0.7 * t) > -0.3)
    return (0.3 * voice + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def diarizer(model_path):
    return Diarizer.from_pretrained(model_path, device="cpu")


def _folder(root, names=("a", "b")):
    root.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(names):
        sf.write(root / f"{name}.wav", _speechy(3.0, seed), 16000)
    return root


def test_diarize_folder_summary_failures_and_rerun(tmp_path, diarizer):
    folder = _folder(tmp_path / "in")
    (folder / "broken.wav").write_text("not audio")
    out = tmp_path / "out"
    summary = diarizer.diarize_folder(folder, out)
    assert [f.uri for f in summary.diarized] == ["a", "b"]
    assert [f.uri for f in summary.failed] == ["broken"] and "broken.wav" in summary.failed[0].error
    assert not summary.ok
    assert sorted(p.name for p in out.iterdir()) == ["a.rttm", "b.rttm", "diarization.rttm"]
    again = diarizer.diarize_folder([folder / "a.wav", folder / "b.wav"], out)
    assert again.ok and len(again.skipped) == 2 and not again.diarized
    assert "2 skipped (already done)" in again.report()[1]


def test_invalid_options_fail_even_when_every_file_is_done(tmp_path, diarizer, model_path, capsys):
    folder = _folder(tmp_path / "in", ("a",))
    out = tmp_path / "out"
    assert diarizer.diarize_folder(folder, out).ok
    for bad in (
        {"num_speakers": 999},
        {"num_speakers": 0},
        {"min_speakers": 3, "max_speakers": 2},
        {"batch_size": 0},
        {"devices": 0},
    ):
        with pytest.raises(DiarizeError):
            diarizer.diarize_folder(folder, out, **bad)
    capsys.readouterr()
    base = ["infer", str(folder), "--out", str(out), "--quiet", "--device", "cpu"]
    model = ["--model", str(model_path)]
    for extra in (
        [*model, "--num-speakers", "999"],
        [*model, "--min-speakers", "3", "--max-speakers", "2"],
        [*model, "--postprocessing", str(tmp_path / "missing.yaml")],
        ["--model", str(tmp_path / "missing.pt")],
        [*model, "--devices", "0"],
    ):
        assert main(base + extra) == 1, extra
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 5 and all(line.startswith("diarize infer: error:") for line in lines)


def test_out_below_a_file_is_one_line_before_any_work(tmp_path, model_path, capsys):
    folder = _folder(tmp_path / "in", ("a",))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ["infer", str(folder), "--out", str(blocker / "out"), "--model", str(model_path)]
    assert main([*args, "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran
    (line,) = captured.err.splitlines()
    assert line.startswith("diarize infer: error:") and str(blocker) in line


def test_model_that_is_not_a_model_is_one_line(tmp_path, capsys):
    folder = _folder(tmp_path / "in", ("a",))
    fake = tmp_path / "model.yaml"
    fake.write_text("model:\n  d_model: 4\n")
    assert main(["infer", str(folder), "--out", str(tmp_path / "o"), "--model", str(fake)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "model.yaml" in line and "weights_only" not in line


def test_stale_temp_files_of_a_killed_run_are_removed(tmp_path, diarizer):
    folder = _folder(tmp_path / "in", ("a",))
    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.json.x1y2.tmp").write_text("{half")
    summary = diarizer.diarize_folder(folder, out, json=True)
    assert summary.ok and (out / "a.json").is_file()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def _note(entry, result, out_dir):
    (out_dir / f"{result.uri}.note").write_text(f"{result.num_speakers}\n")


def _note_outputs(out_dir, uri):
    return [out_dir / f"{uri}.note"]


def test_file_steps_run_per_recording_and_count_for_skipping(tmp_path, diarizer):
    folder = _folder(tmp_path / "in")
    out = tmp_path / "out"
    step = FileStep(run=_note, outputs=_note_outputs)
    assert len(diarizer.diarize_folder(folder, out).diarized) == 2
    # the RTTMs exist but the step's outputs do not: not done yet
    summary = diarizer.diarize_folder(folder, out, steps=(step,))
    assert len(summary.diarized) == 2 and (out / "a.note").is_file()
    assert len(diarizer.diarize_folder(folder, out, steps=(step,)).skipped) == 2
    seen = []
    diarizer.diarize_folder(folder, out, after_batch=[seen.append])
    assert len(seen) == 1 and len(seen[0].files) == 2


def test_symlinked_subfolders_are_searched_once(tmp_path, diarizer):
    real = _folder(tmp_path / "elsewhere", ("linked",))
    top = _folder(tmp_path / "top", ("own",))
    os.symlink(real, top / "sub")
    os.symlink(top, top / "sub" / "loop")  # a loop back up
    out = tmp_path / "out"
    summary = diarizer.diarize_folder(top, out)
    assert sorted(f.uri for f in summary.diarized) == ["linked", "own"]


def test_channels_first_arrays_and_tensors_are_read_as_channels(diarizer):
    mono = _speechy(4.0)
    expected = diarizer.diarize(mono, 16000)
    for audio in (
        np.stack([mono, mono]),  # (channels, samples)
        np.stack([mono, mono], axis=1),  # (samples, channels)
        torch.from_numpy(mono)[None],  # (1, samples)
    ):
        result = diarizer.diarize(audio, 16000)
        assert result.duration == pytest.approx(4.0)
        np.testing.assert_allclose(result.probs, expected.probs, atol=1e-5)


def test_zero_or_bool_speaker_counts_are_rejected_by_the_api(diarizer):
    with pytest.raises(DiarizeError, match="num_speakers"):
        diarizer(_speechy(2.0), sample_rate=16000, num_speakers=0)
    with pytest.raises(DiarizeError, match="max_speakers"):
        diarizer(_speechy(2.0), sample_rate=16000, max_speakers=0)
    with pytest.raises(DiarizeError, match="num_speakers"):
        diarizer(_speechy(2.0), sample_rate=16000, num_speakers=True)


def test_shards_are_balanced_by_duration_and_deterministic():
    durations = [100.0, 10.0, 10.0, 50.0, 40.0, 5.0, 5.0]
    shards = shard_by_duration(durations, 2)
    assert sorted(i for shard in shards for i in shard) == list(range(7))
    loads = [sum(durations[i] for i in shard) for shard in shards]
    assert abs(loads[0] - loads[1]) <= 10.0
    assert shards == shard_by_duration(durations, 2)
    assert shard_by_duration([], 3) == [[], [], []]
    assert shard_by_duration([1.0], 3) == [[0], [], []]


def test_world_size_comes_from_torchrun(monkeypatch):
    assert resolve_world(2, 1) == (2, 1)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert resolve_world(1, 1) == (4, 2)
    assert resolve_world(4, 2) == (4, 2)
    with pytest.raises(DiarizeError, match="torchrun started 8"):
        resolve_world(2, 1)
