"""segmentation-3.0's speech for a stream step, heard on a second core.

At every step a stream by voice runs two networks on what it just heard: segmentation-3.0 on
its last 10 s (its speech; mostly a sequential LSTM, which a second thread does not speed up)
and CAM++ on its last 2 s (frame embeddings; convolutions on a few hundred frames, which a
second thread speeds up by 5%). One after the other with two threads each they cost a 1.04-s
stream about 42 + 57 ms of every 0.88-s step on this project's CPU; side by side, one thread
each, the pair took 58 ms. Neither reads the other's output, so the result does not change
(whole ``diarize stream`` command, 15-minute file: RTF 0.191 -> 0.124, measured in one hour).
With ``bf16`` (``--precision auto`` on a CPU with hardware bfloat16) segmentation-3.0 runs
under bfloat16 autocast, as offline: 37 ms instead of 50 ms on its core, so that CAM++ no
longer waits for it.

    >>> speech = BackgroundSpeech(segmentation)
    >>> pending = speech.submit(last_10_seconds, frames=13)
    >>> with one_thread():
    ...     embeddings = campplus(...)          # meanwhile, on this core
    ...     probs = pending.result()            # (13,)
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch

from diarize.inference.window_model import autocast
from diarize.models.segmentation import PyanNet

__all__ = ["BackgroundSpeech", "one_thread"]


class BackgroundSpeech:
    """Runs :meth:`PyanNet.speech_of_last` in a worker thread that computes with one thread.

    Args:
        segmentation: segmentation-3.0 in eval mode.
        device: where it runs.
        bf16: under bfloat16 autocast, as offline (autocast is per thread, so it is entered in
            the worker). On this project's CPU a 10-s window takes 37 ms instead of 50 ms, less
            than CAM++'s step on the other core, so the step no longer waits for it.
    """

    def __init__(
        self, segmentation: PyanNet, device: str | torch.device = "cpu", bf16: bool = False
    ) -> None:
        self.segmentation, self.device, self.bf16 = segmentation, torch.device(device), bf16
        self._pool: ThreadPoolExecutor | None = None  # started on the first step

    def submit(self, audio: np.ndarray, frames: int) -> Future[np.ndarray]:
        """Start computing the speech of the last ``frames`` frames of ``audio``.

        Shape:
            (num_samples,) -> Future of (frames,)
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                1, "segmentation", initializer=torch.set_num_threads, initargs=(1,)
            )
        return self._pool.submit(self._speech_of_last, audio, frames)

    def _speech_of_last(self, audio: np.ndarray, frames: int) -> np.ndarray:
        with torch.inference_mode(), autocast(self.device, self.bf16):
            return self.segmentation.speech_of_last(audio, frames)


@contextmanager
def one_thread(active: bool = True) -> Iterator[None]:
    """Compute with one thread in the block (the other core is the worker's), then as before.

    Two threads here while the worker computes would put three on two cores: measured, the
    pair then took twice as long as one network alone."""
    threads = torch.get_num_threads()
    if active:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if active:
            torch.set_num_threads(threads)
