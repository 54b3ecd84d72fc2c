"""The stream's speech on a second core: the same numbers (one thread or two), the count restored."""

import threading

import numpy as np
import pytest
import torch

from diarize.inference.stream_speech import BackgroundSpeech, one_thread
from diarize.models.segmentation import PyanNet


def test_background_speech_equals_the_network_run_here():
    torch.manual_seed(0)
    network = PyanNet().eval()
    audio = np.random.default_rng(0).normal(0, 0.1, 10 * 16000).astype(np.float32)
    speech = BackgroundSpeech(network)
    pending = speech.submit(audio, 13)
    here = network.speech_of_last(audio, 13)
    np.testing.assert_allclose(pending.result(), here, atol=1e-6)


def test_background_speech_runs_in_another_thread_with_one_thread():
    seen = {}

    class Probe(torch.nn.Module):
        def speech_of_last(self, audio, frames):
            seen["thread"] = threading.get_ident()
            seen["threads"] = torch.get_num_threads()
            return np.zeros((2, frames), dtype=np.float32)

    assert BackgroundSpeech(Probe()).submit(np.zeros(160), 2).result().shape == (2, 2)
    assert seen["thread"] != threading.get_ident()
    assert seen["threads"] == 1


def test_background_speech_in_bfloat16_runs_under_autocast_in_the_worker():
    seen = {}

    class Probe(torch.nn.Module):
        def speech_of_last(self, audio, frames):
            seen["autocast"] = torch.is_autocast_enabled("cpu")
            seen["dtype"] = torch.get_autocast_dtype("cpu")
            return np.zeros((2, frames), dtype=np.float32)

    BackgroundSpeech(Probe(), "cpu", bf16=True).submit(np.zeros(160), 2).result()
    assert seen == {"autocast": True, "dtype": torch.bfloat16}
    BackgroundSpeech(Probe(), "cpu", bf16=False).submit(np.zeros(160), 2).result()
    assert seen["autocast"] is False


def test_background_speech_in_bfloat16_is_close_to_float32():
    torch.manual_seed(0)
    network = PyanNet().eval()
    audio = np.random.default_rng(1).normal(0, 0.1, 10 * 16000).astype(np.float32)
    exact = BackgroundSpeech(network).submit(audio, 13).result()
    rounded = BackgroundSpeech(network, "cpu", bf16=True).submit(audio, 13).result()
    assert not np.array_equal(rounded, exact)  # it did run in bfloat16
    np.testing.assert_allclose(rounded, exact, atol=0.05)


def test_one_thread_restores_the_thread_count_also_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), one_thread():
        assert torch.get_num_threads() == 1
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with one_thread(active=False):
        assert torch.get_num_threads() == before
