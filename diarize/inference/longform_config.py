"""The settings of long files and streams: chunks, clustering, overlap, calls per leg.

:class:`LongformConfig` is read from a ``longform:`` YAML block (the bundled one is
``diarize/pretrained/longform.yaml``) and shared by offline long files
(:mod:`diarize.inference.longform`), the decisions by voice (:mod:`diarize.inference.voices`)
and streams (:mod:`diarize.inference.streaming`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diarize.audio.features import FRAME_SHIFT
from diarize.audio.io import REFERENCE_RMS
from diarize.errors import DiarizeError

__all__ = ["LongformConfig"]


@dataclass(frozen=True)
class LongformConfig:
    """How long audio is cut into chunks and how chunk speakers are linked.

    Attributes:
        chunk_seconds: longest chunk the network sees at once. Longer chunks give the network
            more context and fewer hand-overs, at attention cost quadratic in the chunk (the
            bundled model was trained on 90 s windows).
        overlap_seconds: audio shared by neighbouring chunks; speakers active on the same
            overlap frames are linked (continuity), and each chunk labels the frames up to
            the middle of the overlap, so no frame is labelled at a chunk's edge. At most half
            a chunk is used.
        link_threshold: least cosine similarity of two chunk speakers' embeddings for them to
            be one file speaker (also the streaming match to a running centroid).
        continuity_threshold: least agreement (soft Dice) of two columns' activities on the
            overlap for them to be one speaker.
        min_embed_seconds: a column with less solo speech than this in a chunk gets no
            embedding of its own (it is linked by continuity only).
        cache_frames: accepted so that settings files of the arrival-order speaker cache still
            load; ignored (linking by speaker embeddings replaced the cache, issue 12).
        identity: ``clustering`` (with the CAM++ front end): the network says when someone
            speaks, and clustering CAM++ embeddings of short solo-speech windows of the whole
            file says who (:mod:`diarize.inference.clustering`); ``linking``: the network's
            chunk columns are linked (:mod:`diarize.inference.linking`). Networks without
            CAM++ always link.
        cluster_threshold: least average cosine similarity of two clusters of windows to be
            one speaker (on the raw embeddings: the pass that decides whether a recording
            holds more than one voice).
        centering, centered_threshold: when there is more than one voice, ``centering`` times
            the recording's mean window embedding (what its voices share: room, microphone,
            codec) is taken off every window, and the windows are clustered again, merging
            down to ``centered_threshold`` (:func:`~diarize.inference.clustering.cluster_windows`).
            0: off.
        merge_threshold: with ``centering``: the centred pass runs on every recording, and
            its clusters whose raw centroids are at least this similar (cosine) are one voice;
            ``cluster_threshold`` then only links voices when streaming. None: the raw first
            pass at ``cluster_threshold`` decides whether the centred pass runs.
        distinct_threshold: with clustering, a cluster of two windows or more below the size
            floors (``min_cluster_windows``, ``min_cluster_share``) stays a speaker when its
            centroid's cosine similarity to the cluster it would join is below this (in the
            centred space). None: small clusters always join.
        speech_source: where a frame's speech probability comes from, with clustering:
            ``network`` (its largest column), ``segmentation`` (pyannote's segmentation-3.0,
            trained on real recordings, when the model file carries it:
            ``scripts/fold_segmentation.py``) or ``min`` of both. The columns still give the
            solo-speech windows that are clustered.
        segmentation_hop_seconds: the segmentation network's 10-s windows start this far
            apart (overlapping windows are averaged; 10: no overlap, half the cost).
        local_speakers: with the segmentation network and ``merge_threshold``, two clusters
            that its 10-s windows hear as different people are not merged, and a small
            cluster (two windows or more) it tells apart from the one it would join stays.
        overlap_threshold: with the segmentation network, a speech frame whose probability
            of two speakers exceeds this also gets a second speaker
            (:func:`~diarize.inference.overlap.second_speakers`).
        overlap_name_threshold: with the segmentation network and ``local_speakers``, an
            overlapped frame with no other speaker within 2 s whose probability of two
            speakers exceeds this gets the other speaker that segmentation-3.0's pair of
            local speakers names (:func:`~diarize.inference.overlap.named_pair_speakers`).
            None: off.
        two_speaker_overlap_threshold: on a file of two speakers, an overlapped frame still
            without a second speaker whose probability of two speakers exceeds this gets the
            other one (the pair is known without segmentation-3.0's local speakers). None: off.
        overlap_voice_seconds: with the segmentation network and ``local_speakers``, a
            voice that its 10-s windows hear only over someone else, on at least this many
            seconds of overlapped frames that have no other second speaker (and on at least
            ``min_cluster_share`` of the file's speech, at most 19.2 s), becomes a speaker of
            its own (:func:`~diarize.inference.overlap.overlap_voices`). 0: off.
        channel_gap_db: a two-channel recording whose louder channel leads the other by at
            least this (dB) on the median speech frame, each leading on ``min_cluster_share``
            of the speech (by half this on its median frame), is a call recorded per leg: each
            channel is a speaker, and every frame's speaker is its louder channel
            (:mod:`~diarize.inference.channels`). None: voices are clustered on every file.
        channel_overlap_db: on a call recorded per leg, the leg that does not lead a speech
            frame talks too when it is at least this louder (dB) than its usual echo of the
            other leg, and near its own speech level
            (:func:`~diarize.inference.channels.other_leg_talks`); None: overlap from the
            segmentation network, as on any file.
        solo_fallback: with the segmentation network, a chunk whose network columns give
            fewer than this times the windows that segmentation-3.0's one-speaker frames give
            takes its windows from those frames instead
            (:func:`~diarize.inference.voices.solo_windows`). 0: off.
        stream_centering, stream_link_threshold: streaming with CAM++: a window of solo speech
            is compared with the speakers' running centroids after this share of the mean of
            every window linked so far is taken off both, and joins the most similar at
            ``stream_link_threshold`` or more (None: ``cluster_threshold``)
            (:class:`~diarize.inference.window_linker.WindowLinker`). ``stream_shared`` is
            accepted so that older settings files load, and ignored (columns are no longer
            linked by voice).
        window_seconds, hop_seconds: the clustered windows' length and spacing.
        speech_threshold: a frame is speech when a column's posterior exceeds this, and solo
            speech (used for windows) when exactly one does.
        min_cluster_windows, min_cluster_share: a cluster with fewer windows, or a smaller
            share of the file's windows (capped at about 20 s of speech), joins the nearest
            larger one (another only when at least the pass's threshold alike to it, when the
            nearest is barred: ``distinct_threshold``, ``local_speakers``); the small ones
            that join none merge with each other when that alike.
        resegment_seconds, change_penalty: with clustering, every speech frame is labelled
            by the embedding of the ``resegment_seconds`` around it, compared with the
            speakers' centroids along a Viterbi path that pays ``change_penalty`` (cosine
            similarity) per change of speaker
            (:func:`~diarize.inference.frame_labels.resegment`). 0: off, every frame takes the
            label of the nearest clustered window.
        speaker_prior, speaker_prior_floor: in that path, each speaker's similarity also gets
            ``speaker_prior`` times the log of its share of the clustered windows, floored at
            ``speaker_prior_floor``, over the largest speaker's share (0: off).
        resegment_iterations: times the speakers' centroids are made again from the speech
            frames the path gave them, and the path found again (0: from the windows only;
            measured: 90-s files gain, 10-minute files lose).
        min_audio_seconds: shorter audio gets no speakers (too short to diarize reliably).
        silence_floor_db: 80 ms frames whose RMS lies below this level (dBFS) get zero
            posteriors: digital silence holds no speech whatever the model says. Judged on the
            audio scaled to ``level_rms`` (as the network hears it), so a quiet recording is
            not taken for silence (a conversation at -63 dBFS: DER 86.8% -> 10.1%). None: off.
        level_rms: each chunk is scaled to this RMS before the network sees it, as training
            windows are (``diarize.audio.io.REFERENCE_RMS``). None: leave the level alone.
    """

    chunk_seconds: float = 90.0
    overlap_seconds: float = 15.0
    link_threshold: float = 0.5
    continuity_threshold: float = 0.5
    min_embed_seconds: float = 0.5
    cache_frames: int = 0
    identity: str = "clustering"
    cluster_threshold: float = 0.4
    centering: float = 0.5
    centered_threshold: float = 0.25
    merge_threshold: float | None = None
    distinct_threshold: float | None = None
    speech_source: str = "network"
    segmentation_hop_seconds: float = 5.0
    overlap_threshold: float = 0.5
    overlap_name_threshold: float | None = None
    two_speaker_overlap_threshold: float | None = None
    channel_gap_db: float | None = None
    channel_overlap_db: float | None = None
    solo_fallback: float = 0.0
    local_speakers: bool = True
    stream_centering: float = 0.0
    stream_shared: bool = False
    stream_link_threshold: float | None = None
    overlap_voice_seconds: float = 0.0
    window_seconds: float = 2.0
    hop_seconds: float = 0.64
    speech_threshold: float = 0.4
    min_cluster_windows: int = 6
    min_cluster_share: float = 0.02
    resegment_seconds: float = 0.4
    change_penalty: float = 0.5
    resegment_iterations: int = 0
    speaker_prior: float = 0.0
    speaker_prior_floor: float = 0.2
    min_audio_seconds: float = 1.0
    silence_floor_db: float | None = -80.0
    level_rms: float | None = REFERENCE_RMS

    @classmethod
    def from_yaml(cls, path: str | Path) -> LongformConfig:
        """Read the settings from a YAML mapping (a ``longform:`` block or the top level);
        keys left out keep their defaults.

        Raises:
            DiarizeError: one line naming the file: missing, malformed YAML (with its line),
                an unknown key or a bad value.
        """
        from diarize.config import load_config, to_object

        return to_object(load_config(cls, [path], section="longform"), str(path))

    def __post_init__(self) -> None:
        if self.chunk_seconds < 1.0:
            raise DiarizeError(f"chunk_seconds must be >= 1, got {self.chunk_seconds}")
        if min(self.overlap_seconds, self.min_embed_seconds, self.cache_frames) < 0:
            raise DiarizeError("overlap_seconds, min_embed_seconds and cache_frames must be >= 0")
        if self.identity not in ("clustering", "linking"):
            raise DiarizeError(f"identity must be clustering or linking, got {self.identity!r}")
        if self.speech_source not in ("network", "segmentation", "min"):
            raise DiarizeError(
                f"speech_source must be network, segmentation or min, got {self.speech_source!r}"
            )
        if min(self.window_seconds, self.hop_seconds) < FRAME_SHIFT:
            raise DiarizeError("window_seconds and hop_seconds must be >= 0.08")
        if min(self.resegment_seconds, self.change_penalty, self.resegment_iterations) < 0:
            raise DiarizeError(
                "resegment_seconds, change_penalty and resegment_iterations must be >= 0"
            )
        if self.speaker_prior < 0 or not 0 < self.speaker_prior_floor <= 1:
            raise DiarizeError(
                "speaker_prior must be >= 0 and speaker_prior_floor in (0, 1], got "
                f"{self.speaker_prior} and {self.speaker_prior_floor}"
            )
