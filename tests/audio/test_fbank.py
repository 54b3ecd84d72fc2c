"""The torch Kaldi fbank equals kaldi-native-fbank (the reference C++ implementation)."""

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch

from diarize.audio.fbank import KaldiFbank, num_fbank_frames


def reference_fbank(samples: np.ndarray) -> np.ndarray:
    opts = knf.FbankOptions()
    frame = opts.frame_opts
    frame.dither, frame.samp_freq, frame.preemph_coeff = 0.0, 16000, 0.97
    frame.window_type, frame.snip_edges, frame.remove_dc_offset = "povey", True, True
    opts.mel_opts.num_bins, opts.mel_opts.low_freq, opts.mel_opts.high_freq = 80, 20, 0
    opts.use_energy, opts.use_log_fbank, opts.use_power = False, True, True
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(16000, samples.tolist())
    fbank.input_finished()
    return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])


@pytest.mark.parametrize("num_samples", [400, 559, 16000, 40123])
def test_matches_kaldi_native_fbank(num_samples):
    rng = np.random.default_rng(num_samples)
    t = np.arange(num_samples) / 16000
    samples = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(num_samples)
    samples = samples.astype(np.float32)
    ours = KaldiFbank()(torch.from_numpy(samples)[None])[0].numpy()
    reference = reference_fbank(samples)
    assert ours.shape == reference.shape == (num_fbank_frames(num_samples), 80)
    np.testing.assert_allclose(ours, reference, atol=2e-3, rtol=0)


def test_silence_is_floored_not_minus_infinity():
    ours = KaldiFbank()(torch.zeros(1, 1600))
    assert torch.isfinite(ours).all()
    assert num_fbank_frames(399) == 0
