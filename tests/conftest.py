"""Fixtures for every test folder: debug-size networks built from the shipped YAML, and a call
recorded per leg."""

from __future__ import annotations

from pathlib import Path

import pytest

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
DEBUG_MODEL_YAML = CONF_DIR / "model" / "debug.yaml"


@pytest.fixture(scope="session")
def build_debug_network():
    """``build(seed=0)``: a tiny untrained SortFormer of conf/model/debug.yaml, in eval mode."""
    from diarize.models import build_network_from_config

    def build(seed: int = 0):
        return build_network_from_config(DEBUG_MODEL_YAML, seed)

    return build


@pytest.fixture(scope="session")
def debug_network(build_debug_network):
    """The seed-0 debug network (shared: do not change its weights)."""
    return build_debug_network()


@pytest.fixture(scope="session")
def model_path(tmp_path_factory, build_debug_network) -> Path:
    """The debug network exported to a compact ``debug.pt`` model file."""
    from diarize.models import save_model

    path = tmp_path_factory.mktemp("model") / "debug.pt"
    return save_model(build_debug_network(), path, meta={"note": "untrained debug network"})


@pytest.fixture(scope="session")
def stereo_call(tmp_path_factory):
    """The bundled 2-speaker example recorded per leg: each speaker's turns on a channel of
    its own, the other leg's audio 30 dB down as echo."""
    import numpy as np
    import soundfile as sf

    import diarize
    from diarize.audio.io import load_audio
    from diarize.data.rttm import read_rttm

    examples = Path(diarize.__file__).parent / "examples"
    reference = read_rttm(examples / "conversation_2speakers.rttm")
    audio = load_audio(examples / "conversation_2speakers.flac")
    speakers = sorted({turn.speaker for turn in reference})
    masks = np.zeros((len(audio), len(speakers)), dtype=np.float32)
    for turn in reference:
        masks[int(turn.start * 16000) : int(turn.end * 16000), speakers.index(turn.speaker)] = 1
    legs = audio[:, None] * masks
    stereo = legs + 10 ** (-30 / 20) * legs[:, ::-1]
    path = tmp_path_factory.mktemp("call") / "call.wav"
    sf.write(path, stereo, 16000, subtype="FLOAT")
    return path, reference
