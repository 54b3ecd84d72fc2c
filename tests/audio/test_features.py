import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from diarize.audio.features import (
    CENTRE_SHIFT,
    FRAME_SHIFT,
    LogMel,
    SpecAugment,
    frame_to_time,
    frames_for_mel,
    num_mel_frames,
    num_model_frames,
    seconds_to_frames,
    time_to_frame,
)


@given(st.integers(min_value=0, max_value=10**8))
def test_model_frames_are_three_halvings_of_mel_frames(samples):
    mel = num_mel_frames(samples)
    assert mel == samples // 160
    halved = mel
    for _ in range(3):
        halved = math.ceil(halved / 2)
    assert num_model_frames(samples) == halved == frames_for_mel(mel)


@given(st.integers(min_value=0, max_value=10**6))
def test_frame_time_round_trip(frame):
    assert time_to_frame(frame_to_time(frame)) == frame
    assert time_to_frame(frame_to_time(frame) + FRAME_SHIFT / 2) == frame


def test_seconds_to_frames():
    assert seconds_to_frames(90.0) == 1125
    assert seconds_to_frames(0.08) == 1


def test_log_mel_shapes_and_lengths():
    logmel = LogMel(n_mels=80).eval()
    audio = torch.randn(2, 16000)
    feats, lengths = logmel(audio, torch.tensor([16000, 8000]))
    assert feats.shape == (2, 80, 100)
    assert lengths.tolist() == [100, 50]
    assert torch.all(feats[1, :, 50:] == 0)


def test_padding_inside_a_batch_changes_nothing():
    logmel = LogMel().eval()
    audio = torch.randn(2, 24000)
    batch, _ = logmel(audio, torch.tensor([24000, 13000]))
    alone, _ = logmel(audio[1:, :13000], torch.tensor([13000]))
    torch.testing.assert_close(batch[1, :, :81], alone[0], atol=1e-4, rtol=1e-4)


def test_per_feature_normalisation_removes_gain():
    logmel = LogMel(normalize="per_feature").eval()
    audio = 0.1 * torch.randn(1, 32000)
    lengths = torch.tensor([32000])
    quiet, _ = logmel(audio, lengths)
    loud, _ = logmel(audio * 8.0, lengths)
    # nearly empty low mel bands feel the log floor; everything else matches
    assert float((quiet - loud).abs().mean()) < 1e-3
    assert abs(float(quiet.mean())) < 1e-4
    assert float(quiet.std(dim=2).mean()) == pytest.approx(1.0, abs=0.02)


def test_dither_only_in_training():
    logmel = LogMel(normalize="none", dither=1e-2)
    audio = torch.zeros(1, 16000)
    lengths = torch.tensor([16000])
    assert torch.equal(logmel.eval()(audio, lengths)[0], logmel.eval()(audio, lengths)[0])
    trained_a, _ = logmel.train()(audio, lengths)
    trained_b, _ = logmel.train()(audio, lengths)
    assert not torch.equal(trained_a, trained_b)


def test_spec_augment_masks_in_training_only_and_keeps_input():
    feats = torch.ones(2, 40, 200)
    lengths = torch.tensor([200, 100])
    augment = SpecAugment(freq_masks=2, freq_width=8, time_masks=2, time_width=0.1)
    assert augment.eval()(feats, lengths) is feats
    torch.manual_seed(0)
    masked = augment.train()(feats, lengths)
    assert torch.all(feats == 1)
    assert (masked == 0).any()
    assert set(masked.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("shift", [0, CENTRE_SHIFT])
def test_shifted_frames_are_centred_at_160m_plus_shift(shift):
    logmel = LogMel(normalize="none", dither=0.0, preemph=0.0, shift=shift).eval()
    audio = torch.zeros(1, 16000)
    click = 160 * 40 + shift
    audio[0, click] = 1.0
    feats, lengths = logmel(audio, torch.tensor([16000]))
    assert lengths.tolist() == [100] and feats.shape[2] == 100  # the count does not change
    assert int(feats[0].sum(0).argmax()) == 40


def test_shifted_padding_inside_a_batch_changes_nothing():
    logmel = LogMel(shift=CENTRE_SHIFT).eval()
    audio = torch.randn(2, 24000)
    batch, _ = logmel(audio, torch.tensor([24000, 13000]))
    alone, _ = logmel(audio[1:, :13000], torch.tensor([13000]))
    torch.testing.assert_close(batch[1, :, :81], alone[0], atol=1e-4, rtol=1e-4)
