"""The second speaker of overlapped speech: who else talks where segmentation-3.0 hears two.

Clustering and the frame labels give every speech frame one speaker (its own voice). Where
segmentation-3.0 hears two people at once (its overlap probability above
``overlap_threshold``), the frame gets a second one: the nearest other speaker in time
(:func:`second_speakers`; in conversation most overlap is at a change of turn), else, where
segmentation-3.0 is sure of the overlap, the speaker its pair of local speakers names
(:func:`named_pair_speakers`), else, as an option, a voice heard only over someone else
(:func:`overlap_voices`), else, on a file of two speakers where segmentation-3.0 is fairly
sure of the overlap, the other one (:func:`other_of_two`). Offline files and streams share the
first rule and the last (:func:`add_second_speakers`, :func:`stream_second_speakers`); the
others need segmentation-3.0's local speakers of whole 10-s windows, which only offline files
keep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from diarize.audio.features import FRAME_SHIFT
from diarize.inference.clustering import MAX_MIN_SIZE

if TYPE_CHECKING:
    from diarize.inference.longform import LongformConfig

__all__ = [
    "SECOND_SPEAKER_REACH",
    "add_second_speakers",
    "named_pair_speakers",
    "other_of_two",
    "overlap_voices",
    "second_speakers",
    "stream_second_speakers",
]

SECOND_SPEAKER_REACH = 25  # frames (2 s): how far the other speaker of an overlap is looked for


def stream_second_speakers(
    before: np.ndarray,
    path: np.ndarray,
    level: np.ndarray,
    overlap: np.ndarray,
    config: LongformConfig,
    speakers: int = 0,
) -> np.ndarray:
    """A stream step's second speakers: :func:`add_second_speakers` over the step's frames
    ``path`` with the speakers of the final frames ``before`` them (what comes later is not
    heard yet); while the stream has two ``speakers`` (numbered 0 and 1), a frame still
    without one gets the other where the overlap probability exceeds
    ``config.two_speaker_overlap_threshold``.

    Shape:
        before (B,), path (T,), level (T,), overlap (T,) -> (T,) speakers or -1
    """
    labels = np.concatenate([before, path])
    overlapped = _overlapped(level, overlap, config)
    flags = np.concatenate([np.zeros(len(before), dtype=bool), overlapped])
    second = second_speakers(labels, flags, SECOND_SPEAKER_REACH)[len(before) :]
    return other_of_two(second, path, np.arange(speakers), overlapped, overlap, config)


def second_speakers(labels: np.ndarray, overlapped: np.ndarray, reach: int = 25) -> np.ndarray:
    """For each overlapped frame, the speaker of the nearest frame (at most ``reach`` frames
    away, 2 s) labelled with someone else; -1 elsewhere or when there is none.

    In conversation most overlap is at a change of turn (one finishing, the next starting)
    or a short interjection, so the other voice is the one just before or after.

    Shape:
        labels (T,) ints (-1: nobody), overlapped (T,) bool -> (T,)
    """
    labels = np.asarray(labels)
    second = np.full(len(labels), -1, dtype=np.int64)
    for t in np.flatnonzero(overlapped):
        own = labels[t]
        for distance in range(1, reach + 1):
            found = [
                labels[u]
                for u in (t - distance, t + distance)
                if 0 <= u < len(labels) and labels[u] >= 0 and labels[u] != own
            ]
            if found:
                second[t] = found[0]
                break
    return second


def add_second_speakers(
    output: np.ndarray,
    frame_labels: np.ndarray,
    speech: np.ndarray,
    overlap: np.ndarray,
    config: LongformConfig,
    local_track: np.ndarray | None = None,
    room: int | None = None,
) -> np.ndarray:
    """``output`` with the second speaker of every overlapped speech frame: the nearest other
    speaker in time, else (with ``local_track`` and ``config.overlap_name_threshold``, where
    the overlap probability exceeds it) the speaker segmentation-3.0's pair of local speakers
    names (:func:`named_pair_speakers`), else (with ``local_track`` and
    ``config.overlap_voice_seconds``) a voice heard only over another
    (:func:`overlap_voices`) in a column of its own, if it holds
    ``overlap_voice_seconds`` and, as a cluster must, ``min_cluster_share`` of the file's
    speech (capped as clusters are, ``MAX_MIN_SIZE`` windows; without it, long-form dev:
    counts right 4 -> 2 of 6). At most ``room`` such voices, the longest (None: no limit;
    count hints). Last, on a file of two speakers, a frame still without a second speaker
    gets the other one where the overlap probability exceeds
    ``config.two_speaker_overlap_threshold`` (:func:`other_of_two`).

    Shape:
        output (T, S), frame_labels (T,), speech (T,), overlap (T,),
        local_track (T, slots, 3) or None -> (T, S')
    """
    overlapped = _overlapped(speech, overlap, config)
    second = second_speakers(frame_labels, overlapped, SECOND_SPEAKER_REACH)
    if local_track is not None and config.overlap_name_threshold is not None:
        sure = overlapped & (second < 0) & (overlap > config.overlap_name_threshold)
        named = named_pair_speakers(frame_labels, sure, local_track)
        second = np.where(named >= 0, named, second)
    least = round(config.overlap_voice_seconds / FRAME_SHIFT)
    if local_track is not None and least > 0:
        # as clusters do: a voice needs its share of the file's speech, at most what
        # MAX_MIN_SIZE windows hold (19.2 s)
        spoken = int((speech > config.speech_threshold).sum())
        cap = round(MAX_MIN_SIZE * config.hop_seconds / FRAME_SHIFT)
        least = max(least, min(int(config.min_cluster_share * spoken), cap))
        voices = overlap_voices(frame_labels, overlapped & (second < 0), local_track, least, room)
        second = np.where(voices >= 0, voices, second)
    present = np.union1d(frame_labels[frame_labels >= 0], second[second >= 0])
    second = other_of_two(second, frame_labels, present, overlapped, overlap, config)
    has_second = second >= 0
    if has_second.any() and second.max() >= output.shape[1]:
        grown = np.zeros((len(output), int(second.max()) + 1), dtype=output.dtype)
        grown[:, : output.shape[1]] = output
        output = grown
    output[np.flatnonzero(has_second), second[has_second]] = speech[has_second]
    return output


MIN_NAMED_FRAMES = 3  # solo frames with one of our labels that name a local speaker
OVERLAP_VOICE_WINDOWS = 2  # windows that must hear a frame's unnamed voice (dev: 78 -> 82%
# of counts right against one window, the same DER)


def overlap_voices(
    labels: np.ndarray,
    overlapped: np.ndarray,
    track: np.ndarray,
    least: int,
    room: int | None = None,
) -> np.ndarray:
    """Voices heard only while someone else talks: per frame, a new speaker (numbered after
    ``labels``) or -1.

    Clustering knows a voice only by its solo speech, so someone who talks over another for
    most of a meeting excerpt is never found, and the nearest-other-speaker rule has nobody to
    give those frames (real AMI excerpts: 13 s of one voice, all of it overlapped). Within
    each 10-s window segmentation-3.0 tells up to three local speakers apart and hears which
    two talk at once. A local speaker is named by the label most of its solo frames carry (at
    least ``MIN_NAMED_FRAMES``). On an ``overlapped`` frame whose pair of local speakers holds
    one unnamed speaker and no named one besides the frame's own, the unnamed one is a voice
    heard only in overlap. A frame counts when ``OVERLAP_VOICE_WINDOWS`` of the windows
    covering it hear so (segmentation-3.0's pairs are right on real meetings, 94% of frames
    on AMI excerpts, but on simulated mixes a single window's are mostly wrong); the unnamed
    speakers of the windows heard at one frame are one voice, and a voice heard on at least
    ``least`` frames becomes a speaker (at most ``room`` of them, the longest heard).

    Shape:
        labels (T,), overlapped (T,), track (T, slots, 3): window, local speaker, pair -> (T,)
    """
    from diarize.models.segmentation import PAIRS

    size = int(labels.max()) + 1 if len(labels) else 0
    names = _local_names(labels, track)
    unnamed: dict[int, list[tuple[int, int]]] = {}  # frame -> its unnamed local speakers
    for t in np.flatnonzero(overlapped & (labels >= 0)):
        for window, _, pair in track[t]:
            if window < 0 or pair < 0:
                continue
            keys = [(int(window), k) for k in PAIRS[pair]]
            missing = [key for key in keys if key not in names]
            others = {names[key] for key in keys if key in names} - {int(labels[t])}
            if len(missing) == 1 and not others:
                unnamed.setdefault(int(t), []).append(missing[0])
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def root(key: tuple[int, int]) -> tuple[int, int]:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    unnamed = {t: keys for t, keys in unnamed.items() if len(keys) >= OVERLAP_VOICE_WINDOWS}
    for keys in unnamed.values():  # one frame, two windows: one voice
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
    heard: dict[tuple[int, int], list[int]] = {}
    for t, keys in unnamed.items():
        heard.setdefault(root(keys[0]), []).append(t)
    second = np.full(len(labels), -1, dtype=np.int64)
    kept = [frames_of for frames_of in heard.values() if len(frames_of) >= least]
    if room is not None and len(kept) > room:
        longest = sorted(range(len(kept)), key=lambda i: -len(kept[i]))[:room]
        kept = [kept[i] for i in sorted(longest)]
    for fresh, voice_frames in enumerate(kept, start=size):
        second[voice_frames] = fresh
    return second


def named_pair_speakers(labels: np.ndarray, todo: np.ndarray, track: np.ndarray) -> np.ndarray:
    """The second speaker of each ``todo`` frame that segmentation-3.0's local speakers name:
    on a frame its windows hear as a pair of local speakers, the pair's named speaker (the
    label most of its solo frames carry, :data:`MIN_NAMED_FRAMES` at least) other than the
    frame's own, the one most of the windows covering the frame name; -1 where none does.

    This is how pyannote's pipeline gives overlap a second speaker (every local speaker of a
    window is mapped to a global one). Used where no other speaker talks within 2 s and
    segmentation-3.0 is sure of the overlap (``overlap_name_threshold``: one person talks on
    while another starts or backchannels). On the simulated sets' babble noise (unlabelled
    background speech) its pairs are mostly wrong at lower overlap probabilities.

    Shape:
        labels (T,), todo (T,) bool, track (T, slots, 3): window, local speaker, pair -> (T,)
    """
    from diarize.models.segmentation import PAIRS

    second = np.full(len(labels), -1, dtype=np.int64)
    frames = np.flatnonzero(todo & (labels >= 0))
    names = _local_names(labels, track) if len(frames) else {}
    for t in frames:
        votes: dict[int, int] = {}
        for window, _, pair in track[t]:
            if window < 0 or pair < 0:
                continue
            keys = ((int(window), k) for k in PAIRS[pair])
            for name in {names[key] for key in keys if key in names} - {int(labels[t])}:
                votes[name] = votes.get(name, 0) + 1
        if votes:
            second[t] = max(votes, key=votes.get)
    return second


def other_of_two(
    second: np.ndarray,
    labels: np.ndarray,
    speakers: np.ndarray,
    overlapped: np.ndarray,
    overlap: np.ndarray,
    config: LongformConfig,
) -> np.ndarray:
    """``second`` where the file or stream has two ``speakers`` in all (their ids): an
    ``overlapped`` labelled frame still without a second speaker gets the other one where its
    overlap probability exceeds ``config.two_speaker_overlap_threshold`` (None: off); with
    any other number of speakers, ``second`` as it is.

    Shape:
        second (T,), labels (T,), speakers (S,), overlapped (T,), overlap (T,) -> (T,)
    """
    threshold = config.two_speaker_overlap_threshold
    if len(speakers) != 2 or threshold is None:
        return second
    sure = overlapped & (second < 0) & (labels >= 0) & (overlap > threshold)
    return np.where(sure, speakers.sum() - labels, second)


def _local_names(labels: np.ndarray, track: np.ndarray) -> dict[tuple[int, int], int]:
    """Per ``(window, local speaker)`` of segmentation-3.0, the label most of its solo frames
    carry, if at least :data:`MIN_NAMED_FRAMES` do. Shape: labels (T,), track (T, slots, 3)"""
    frames, slots = np.nonzero((track[..., 1] >= 0) & (labels >= 0)[:, None])
    heard = np.stack([track[frames, slots, 0], track[frames, slots, 1], labels[frames]], axis=1)
    triples, counts = np.unique(heard.astype(np.int64), axis=0, return_counts=True)
    # per (window, local speaker): the most frequent label, the smallest on a tie
    order = np.lexsort((triples[:, 2], -counts, triples[:, 1], triples[:, 0]))
    triples, counts = triples[order], counts[order]
    first = np.ones(len(triples), dtype=bool)
    first[1:] = (triples[1:, :2] != triples[:-1, :2]).any(axis=1)
    keep = first & (counts >= MIN_NAMED_FRAMES)
    return {(int(w), int(k)): int(label) for w, k, label in triples[keep]}


def _overlapped(speech: np.ndarray, overlap: np.ndarray, config: LongformConfig) -> np.ndarray:
    """Speech frames the segmentation network hears two people in. Shape: (T,), (T,) -> (T,)"""
    return (overlap > config.overlap_threshold) & (speech > config.speech_threshold)
