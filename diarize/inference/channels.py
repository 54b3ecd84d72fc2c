"""Calls recorded per leg: when each channel of a recording carries a talker of its own, the
louder channel says who speaks.

Telephone and VoIP calls are often stored with one party per channel (call centres, CallHome's
two-channel files), and so are interviews and podcasts with a microphone per person. Averaged
to mono, such a call is a narrow-band mix in which the two voices move towards each other
(CAM++ through a telephone channel: 0.27 mean similarity between speakers, 0.13 wideband), but
the channels themselves keep the talkers apart: the far end is heard on the near end's
channel only as echo or bleed, 15-40 dB down.

The sources measure both channels' levels per 80-ms frame of a two-channel recording as it is
decoded (:func:`channel_levels_of`); :func:`channel_speakers` decides whether the channels hold
separate talkers (the louder channel leads the other by at least ``channel_gap_db`` on the
median speech frame, and each leads its own share of the speech) and, if so, labels every
frame with its louder channel along a Viterbi path. Speech, overlap and the post-processing
stay as for any recording; only who speaks comes from the channels. A mono file, a stereo
file whose channels are alike (one microphone copied, a stereo pair in one room) or a leg
that nobody leads fall back to clustering voices. :func:`likely_legs` judges the levels
alone, so that such a call needs segmentation-3.0 only
(:func:`~diarize.inference.voices.clustered_posteriors`); streams decide at their first
speech (:mod:`~diarize.inference.stream_legs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from diarize.audio.features import FRAME_SHIFT
from diarize.inference.frame_labels import viterbi

if TYPE_CHECKING:
    from diarize.inference.longform import LongformConfig

__all__ = ["LEGS", "SILENT_DB", "channel_levels_of", "channel_speakers", "likely_legs"]

# calls, interviews: two channels. More (5.1 film sound keeps its dialogue on one channel and
# music on others; a meeting's microphones are usually a file each) are averaged as before.
LEGS = 2
SILENT_DB = -120.0  # the level of an all-zero frame
LOUD_DB = 25.0  # before any network: frames within this of the file's loud ones are speech
DB_PER_SCORE = 10.0  # a Viterbi score of 1 is a lead of 10 dB (the change penalty is in scores)


def channel_levels_of(samples: np.ndarray, sample_rate: int, frames: int) -> np.ndarray:
    """Per 80-ms frame and channel, the RMS level in dBFS of ``samples`` at their own rate.

    Frame ``t`` covers ``[t, t + 1) * 0.08`` s; frames past the end of the samples are silent.

    Shape:
        samples (N, C) -> (frames, C) float32
    """
    samples = np.asarray(samples, dtype=np.float64)
    levels = np.full((frames, samples.shape[1]), SILENT_DB, dtype=np.float32)
    bounds = np.round(np.arange(frames + 1) * FRAME_SHIFT * sample_rate).astype(np.int64)
    bounds = np.minimum(bounds, len(samples))
    full = int(np.count_nonzero(bounds[1:] > bounds[:-1]))  # the frames that hold samples
    if full == 0:
        return levels
    energy = np.add.reduceat(np.square(samples[: bounds[full]]), bounds[:full], axis=0)
    rms = np.sqrt(energy / np.diff(bounds[: full + 1])[:, None])
    levels[:full] = np.maximum(20.0 * np.log10(np.maximum(rms, 1e-12)), SILENT_DB)
    return levels


def channel_speakers(
    levels: np.ndarray,
    speech: np.ndarray,
    gap_db: float,
    least_share: float,
    penalty: float,
) -> np.ndarray | None:
    """Per frame, the channel that leads it (numbered by first appearance), or None when the
    two channels do not hold separate talkers (or there are not two).

    The channels hold separate talkers when the louder leads by at least ``gap_db`` on the
    median speech frame, and each channel leads on ``least_share`` of the speech frames, by
    at least half of ``gap_db`` on the median frame that it leads: a talker's own leg carries
    it above the other's echo and noise, a quiet talker's by less (a simulated call: 7 dB
    against 23 dB for the other party). A recorder that stores the mix beside one party's leg
    fails this: on that party's speech the two channels are alike. Every frame
    is then labelled along a Viterbi path over the two levels (a lead of 10 dB scores 1;
    ``penalty`` per change), so that a syllable of echo does not flip the speaker.

    Shape:
        levels (T, 2), speech (T,) bool -> (T,) labels 0..1, or None
    """
    if levels is None or levels.ndim != 2 or levels.shape[1] != LEGS or not speech.any():
        return None
    heard = levels[speech]
    lead = heard.argmax(axis=1)
    gaps = np.abs(heard[:, 0] - heard[:, 1])
    if float(np.median(gaps)) < gap_db:
        return None
    for leg in range(LEGS):
        own = lead == leg
        if own.mean() < max(least_share, 1e-9) or float(np.median(gaps[own])) < gap_db / 2:
            return None
    scores = (levels - levels.max(axis=1, keepdims=True)).astype(np.float64) / DB_PER_SCORE
    scores[~speech] = 0.0
    path = viterbi(scores, penalty)
    first = int(path[speech][0])
    return np.where(path == first, 0, 1).astype(np.int64)


def likely_legs(levels: np.ndarray | None, config: LongformConfig) -> bool:
    """Whether a recording looks like a call recorded per leg from its levels alone, before
    any network has heard it: :func:`channel_speakers` with the frames whose louder channel
    lies within ``LOUD_DB`` of the file's 95th percentile taken for speech. Only decides
    which networks run first; the speech of segmentation-3.0 decides the labels."""
    if levels is None or levels.ndim != 2 or levels.shape[1] != LEGS or not len(levels):
        return False
    louder = levels.max(axis=1)
    loud = louder >= np.percentile(louder, 95) - LOUD_DB
    found = channel_speakers(
        levels, loud, config.channel_gap_db, config.min_cluster_share, config.change_penalty
    )
    return found is not None
