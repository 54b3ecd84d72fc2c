import json

import numpy as np
import pytest

from diarize.audio.io import SAMPLE_RATE
from diarize.errors import DiarizeError
from diarize.simulate.sources import VadParams, group_by_speaker, load_sources, speech_regions


def _bursts_to_regions(bursts, min_pause):
    """Expected regions: the tone bursts, with pauses shorter than min_pause bridged."""
    merged = []
    for start, end in bursts:
        if merged and start - merged[-1][1] < min_pause:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return merged


def test_vad_finds_the_bursts_of_every_source(source_manifest):
    params = VadParams()
    sources = load_sources(source_manifest, params)
    records = [json.loads(line) for line in source_manifest.read_text().splitlines()]
    assert len(sources) == len(records)
    for source, record in zip(sources, records, strict=True):
        expected = _bursts_to_regions(record["bursts"], params.min_pause)
        assert len(source.speech) == len(expected), record["audio_filepath"]
        for (start, end), (want_start, want_end) in zip(source.speech, expected, strict=True):
            # the tone fades in/out over a few ms; pad is added on each side
            assert abs(start - want_start) <= params.pad + 0.03
            assert abs(end - want_end) <= params.pad + 0.03
        assert source.speaker_id == record["speaker_id"]
        assert source.source == record["source"]


def test_vad_on_silence_and_on_noise_floor():
    params = VadParams()
    assert speech_regions(np.zeros(SAMPLE_RATE, dtype=np.float32), params) == []
    rng = np.random.default_rng(0)
    noisy = (0.003 * rng.standard_normal(3 * SAMPLE_RATE)).astype(np.float32)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    noisy[SAMPLE_RATE : 2 * SAMPLE_RATE] += 0.3 * np.sin(2 * np.pi * 200 * t)
    (region,) = speech_regions(noisy, params)
    assert region[0] == pytest.approx(1.0, abs=0.05)
    assert region[1] == pytest.approx(2.0, abs=0.05)


def test_group_by_speaker(source_manifest):
    grouped = group_by_speaker(load_sources(source_manifest, VadParams()))
    assert list(grouped) == sorted(grouped)
    assert all(len(indices) == 4 for indices in grouped.values())


def test_line_without_speaker_id_is_an_error(tmp_path, source_manifest):
    first = json.loads(source_manifest.read_text().splitlines()[0])
    del first["speaker_id"]
    first["audio_filepath"] = str(source_manifest.parent / first["audio_filepath"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(first) + "\n")
    with pytest.raises(DiarizeError, match=r"bad.json: entry 1 .*speaker_id"):
        load_sources(bad, VadParams())


def test_missing_audio_is_an_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"audio_filepath": "nope.wav", "speaker_id": "a"}) + "\n")
    with pytest.raises(DiarizeError, match="nope.wav"):
        load_sources(bad, VadParams())
