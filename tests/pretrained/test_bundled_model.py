"""The bundled default model: ships, loads without a download, and diarizes the examples."""

import hashlib
from pathlib import Path

import pytest
import yaml

import diarize
from diarize.audio.io import audio_duration
from diarize.inference import Diarizer

PACKAGE = Path(diarize.__file__).parent
PRETRAINED = PACKAGE / "pretrained"
EXAMPLES = PACKAGE / "examples"


def test_bundled_files_are_small_and_documented():
    model = PRETRAINED / "default.pt"
    assert model.is_file() and model.stat().st_size < 25 * 2**20
    card = (PRETRAINED / "MODEL_CARD.md").read_text()
    for heading in ("Architecture", "Training data", "Results", "Limits"):
        assert heading in card
    tuned = yaml.safe_load((PRETRAINED / "postprocess.yaml").read_text())
    assert set(tuned["parameters"]) >= {"onset", "offset", "min_duration_on", "min_duration_off"}
    assert "dev" in str(tuned.get("data", tuned)).lower()  # tuned on dev data, never test
    # the provenance names the model file that ships (a new default.pt must say so)
    assert tuned["bundled_model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()


def test_default_model_diarizes_an_example():
    diarizer = Diarizer.from_pretrained(device="cpu")
    path = EXAMPLES / "conversation_2speakers.flac"
    annotation = diarizer(path)
    duration = audio_duration(path)
    assert 1 <= len(annotation.labels()) <= diarizer.network.max_speakers
    extent = annotation.get_timeline().extent()
    assert 0.0 <= extent.start and extent.end <= duration + 0.1
    # speech covers a good part of a conversation with 15% silence
    assert annotation.get_timeline().support().duration() > 0.5 * duration


@pytest.mark.parametrize(
    ("name", "speakers", "most_der"),
    [("conversation_2speakers", 2, 10.0), ("conversation_3speakers", 3, 20.0)],
)
def test_default_model_finds_every_voice_of_the_examples(name, speakers, most_der):
    """Measured when the model was shipped: 2 speakers, DER 5.4%; 3 speakers, DER 13.4%
    (collar 0.25)."""
    from diarize.data.rttm import read_rttm
    from diarize.inference.longform import LongformConfig
    from diarize.metrics.scoring import score

    diarizer = Diarizer.from_pretrained(device="cpu")
    assert diarizer.longform == LongformConfig.from_yaml(PRETRAINED / "longform.yaml")
    assert diarizer.clusters  # speakers come from clustering CAM++ windows
    reference = read_rttm(EXAMPLES / f"{name}.rttm")
    uri = reference[0].uri
    result = diarizer.diarize(EXAMPLES / f"{name}.flac", uri=uri)
    assert len(result.speakers) == speakers
    report = score({uri: reference}, {uri: result.turns()}, collar=0.25)
    assert report.overall["der"] < most_der
