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
frame with its louder channel along a Viterbi path. Who speaks comes from the channels, and
so does overlap (:func:`other_leg_talks`: the leg that does not lead is louder than its echo
of the other); speech is segmentation-3.0's, kept where a leg is near its own level
(:func:`legs_heard`). A mono file, a stereo file whose channels are alike (one microphone
copied, a stereo pair in one room) or a leg that nobody leads fall back to clustering voices.
:func:`likely_legs` judges the levels alone, so that such a call needs segmentation-3.0 only
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
    from diarize.inference.voices import FileEvidence

__all__ = [
    "LEGS",
    "SILENT_DB",
    "add_other_leg",
    "by_channel",
    "channel_levels_of",
    "channel_speakers",
    "leg_levels",
    "leg_statistics",
    "legs_heard",
    "likely_legs",
    "other_leg_talks",
]

# calls, interviews: two channels. More (5.1 film sound keeps its dialogue on one channel and
# music on others; a meeting's microphones are usually a file each) are averaged as before.
LEGS = 2
SILENT_DB = -120.0  # the level of an all-zero frame
LOUD_DB = 25.0  # before any network: frames within this of the file's loud ones are speech
DB_PER_SCORE = 10.0  # a Viterbi score of 1 is a lead of 10 dB (the change penalty is in scores)
CLEAR_LEAD_DB = 5.0  # a leg's own level and echo are measured where one leg leads by this
STATISTICS_FRAMES = 12  # and once each leg has led 1 s of speech so (4 s before: a stream
# of a call per leg heard more false alarm in its first seconds; simulated calls streamed at
# 1.04 s, dev side 2.82% -> 2.63%)
SPEECH_REACH_DB = 25.0  # a speech frame of a call per leg has a leg within this of its own
# level (simulated calls, dev side: 20-30 dB gain, 25 dB the most)
OWN_REACH_DB = 15.0  # a leg talks within this of its median own speech level (simulated calls,
# dev side: 6-15 dB score the same; 30 dB takes noise for speech)


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


def leg_levels(levels: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``levels`` with its columns in the order of the speakers ``labels`` numbers (column ``k``
    the channel that leads the frames labelled ``k``). Shape: (T, 2), (T,) -> (T, 2)"""
    first = labels == 0
    if not first.any():
        return levels
    channel = int(levels[first].mean(axis=0).argmax())
    return levels if channel == 0 else levels[:, ::-1]


def leg_statistics(levels: np.ndarray, labels: np.ndarray, speech: np.ndarray):
    """Per leg, its median level on its own speech and its usual level relative to the other
    leg while the other talks (its echo or bleed of the other, and its noise); None while a
    leg has led fewer than ``STATISTICS_FRAMES`` speech frames (a stream's first seconds).

    A leg's own speech: the speech frames it leads by ``CLEAR_LEAD_DB``, at most ``LOUD_DB``
    below its loud ones (its 90th percentile there): segmentation-3.0 also calls the pauses
    inside a turn speech, and there a leg leads the other with its noise. Its echo: the
    frames where the other leg talks at its own level (within ``OWN_REACH_DB``).

    Shape:
        levels (T, 2) in the speakers' order (:func:`leg_levels`), labels (T,), speech (T,)
        -> (own (2,), echo (2,)) or None
    """
    clear = speech & (np.abs(levels[:, 0] - levels[:, 1]) >= CLEAR_LEAD_DB)
    own = np.zeros(LEGS)
    for leg in range(LEGS):
        mine = levels[clear & (labels == leg), leg]
        mine = mine[mine >= np.percentile(mine, 90) - LOUD_DB] if len(mine) else mine
        if len(mine) < STATISTICS_FRAMES:
            return None
        own[leg] = np.median(mine)
    echo = np.zeros(LEGS)
    for leg in range(LEGS):
        other = 1 - leg
        theirs = clear & (labels == other) & (levels[:, other] >= own[other] - OWN_REACH_DB)
        if theirs.sum() < STATISTICS_FRAMES:
            return None
        echo[leg] = np.median(levels[theirs, leg] - levels[theirs, other])
    return own, echo


def legs_heard(levels: np.ndarray, statistics: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Frames where some leg is within ``SPEECH_REACH_DB`` of its own speech level
    (``statistics`` from :func:`leg_statistics`): elsewhere both legs carry only their noise,
    whatever segmentation-3.0 hears in their mix. Shape: (T, 2) -> (T,) bool"""
    return (levels - statistics[0][None, :] >= -SPEECH_REACH_DB).any(axis=1)


def other_leg_talks(
    levels: np.ndarray,
    labels: np.ndarray,
    speech: np.ndarray,
    statistics: tuple[np.ndarray, np.ndarray],
    margin_db: float,
) -> np.ndarray:
    """Speech frames where the leg that does not lead talks too: it is at least ``margin_db``
    louder, relative to the leading leg, than its usual echo of it, and within
    ``OWN_REACH_DB`` of its own speech level (``statistics`` from :func:`leg_statistics`).

    A call's overlap is in its channels: each party is on a leg of its own, and the far end
    reaches the near end's leg only as echo or bleed at a steady level below it. Relative to
    the echo, not to the far end's level, so that an echo only 12 dB down is not taken for
    speech (simulated calls, dev side: segmentation-3.0's overlap 3.29% -> 1.37% DER with
    the echo 25 dB down, 3.18% -> 1.96% with it 12 dB down).

    Shape:
        levels (T, 2) in the speakers' order, labels (T,) 0..1, speech (T,) bool -> (T,) bool
    """
    own, echo = statistics
    frames = np.arange(len(labels))
    other = 1 - np.clip(labels, 0, 1)
    relative = levels[frames, other] - levels[frames, 1 - other]
    heard = (relative > echo[other] + margin_db) & (
        levels[frames, other] >= own[other] - OWN_REACH_DB
    )
    return speech & (labels >= 0) & heard


def by_channel(
    evidence: FileEvidence,
    config: LongformConfig,
    num_speakers: int | None,
    min_speakers: int | None,
    max_speakers: int | None,
) -> np.ndarray | None:
    """Per frame, the channel that leads it, when the recording's channels hold a talker each
    (:func:`channel_speakers`, ``channel_gap_db``) and as many talkers as the hints allow;
    else None. Shape: -> (T,)"""
    if evidence.channels is None or config.channel_gap_db is None:
        return None
    labels = channel_speakers(
        evidence.channels,
        evidence.speech > config.speech_threshold,
        config.channel_gap_db,
        config.min_cluster_share,
        config.change_penalty,
    )
    if labels is None:
        return None
    count = int(labels.max()) + 1
    low = num_speakers if num_speakers is not None else min_speakers
    high = num_speakers if num_speakers is not None else max_speakers
    if (low is not None and count < low) or (high is not None and count > high):
        return None  # the hints ask for another number of speakers: voices decide
    return labels


def add_other_leg(
    output: np.ndarray, evidence: FileEvidence, config: LongformConfig, labels: np.ndarray
) -> np.ndarray | None:
    """``output`` of a call recorded per leg with the other leg's speaker where it talks too
    (:func:`other_leg_talks`) and no speech where neither leg is near its own level
    (:func:`legs_heard`), or None when a leg spoke too little to know its levels.
    Shape: (T, S) -> (T, S)"""
    speech = evidence.speech > config.speech_threshold
    levels = leg_levels(evidence.channels, labels)
    statistics = leg_statistics(levels, labels, speech)
    if statistics is None:
        return None
    both = np.flatnonzero(
        other_leg_talks(levels, labels, speech, statistics, config.channel_overlap_db)
    )
    output[both, 1 - labels[both]] = evidence.speech[both]
    output[~legs_heard(levels, statistics)] = 0.0
    return output
