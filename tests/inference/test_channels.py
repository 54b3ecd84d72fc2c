"""Calls recorded per leg: each channel's level per frame, and who speaks from the louder one."""

from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from diarize.audio.features import FRAME_SHIFT
from diarize.inference.channels import (
    SILENT_DB,
    channel_levels_of,
    channel_speakers,
    leg_levels,
    leg_statistics,
    legs_heard,
    likely_legs,
    other_leg_talks,
)
from diarize.inference.longform import LongformConfig
from diarize.inference.sources import ArraySource, FileSource


def test_levels_are_rms_dbfs_per_80ms_frame():
    rate = 8000
    t = np.arange(rate * 2) / rate
    samples = np.stack([0.1 * np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1)
    levels = channel_levels_of(samples, rate, frames=30)  # 2 s = 25 frames, 5 past the end
    assert levels.shape == (30, 2)
    assert np.allclose(levels[:25, 0], 20 * np.log10(0.1 / np.sqrt(2)), atol=0.05)
    assert np.all(levels[:, 1] == SILENT_DB) and np.all(levels[25:] == SILENT_DB)


def _call(pattern: list[int], gap: float = 25.0, echo_flips: tuple[int, ...] = ()) -> np.ndarray:
    """Levels of two legs: in each run of 10 frames the talker ``pattern[i]`` leads by ``gap``."""
    talker = np.repeat(pattern, 10)
    levels = np.full((len(talker), 2), -50.0 - gap, dtype=np.float32)
    levels[np.arange(len(talker)), talker] = -50.0
    for frame in echo_flips:  # a frame where the other leg is 3 dB louder (a pause, a click)
        levels[frame, 1 - talker[frame]] = -47.0
    return levels


def test_each_leg_is_a_speaker_numbered_by_first_appearance():
    levels = _call([1, 0, 1, 1, 0], echo_flips=(13,))
    speech = np.ones(len(levels), dtype=bool)
    labels = channel_speakers(levels, speech, gap_db=10.0, least_share=0.02, penalty=0.5)
    expected = np.repeat([0, 1, 0, 0, 1], 10)  # channel 1 spoke first: speaker 0
    assert np.array_equal(labels, expected)  # the one frame of louder echo does not flip it


def test_channels_alike_or_one_leg_alone_are_not_a_call_per_leg():
    speech = np.ones(50, dtype=bool)
    alike = _call([0, 1, 0, 1, 0], gap=4.0)  # a stereo pair in one room
    assert channel_speakers(alike, speech, 10.0, 0.02, 0.5) is None
    one_leg = _call([0, 0, 0, 0, 0])  # everyone on one channel: voices must tell them apart
    assert channel_speakers(one_leg, speech, 10.0, 0.02, 0.5) is None
    assert channel_speakers(_call([0, 1]), np.zeros(20, dtype=bool), 10.0, 0.02, 0.5) is None
    # three channels (5.1 sound: dialogue in the centre, music around) are not legs of a call
    three = np.concatenate([_call([0, 1, 0, 1, 0]), np.full((50, 1), -90.0)], axis=1)
    assert channel_speakers(three, speech, 10.0, 0.02, 0.5) is None
    # a recorder that stores the mix beside one party's leg: on that party the two are alike
    mix_and_leg = _call([0, 1, 0, 1, 0])
    mix_and_leg[mix_and_leg[:, 1] == -50.0] = [-50.5, -50.0]
    assert channel_speakers(mix_and_leg, speech, 10.0, 0.02, 0.5) is None
    config = LongformConfig(channel_gap_db=10.0)
    assert likely_legs(_call([0, 1, 0, 1, 0]), config) and not likely_legs(alike, config)
    assert not likely_legs(None, config) and not likely_legs(three, config)


def test_the_other_leg_talks_above_its_echo_not_at_it():
    """Echo only 12 dB down is as loud as a quiet party: what tells them apart is that echo
    keeps its level relative to the leading leg."""
    rng = np.random.default_rng(0)
    talker = np.repeat([0, 1, 0, 1], 50)  # leg 0 leads frames 0-49 and 100-149
    levels = np.empty((200, 2), dtype=np.float32)
    own = np.array([-20.0, -24.0])  # the second party is 4 dB quieter on its own leg
    lead = own[talker] + rng.normal(0, 2, 200)
    levels[np.arange(200), talker] = lead
    levels[np.arange(200), 1 - talker] = lead - 12.0 + rng.normal(0, 1, 200)  # echo
    talks_too = np.zeros(200, dtype=bool)
    talks_too[[*range(20, 30), *range(120, 128)]] = True  # leg 1 backchannels over leg 0
    levels[talks_too, 1] = own[1] + rng.normal(0, 2, talks_too.sum())
    speech = np.ones(200, dtype=bool)
    labels = channel_speakers(levels, speech, gap_db=10.0, least_share=0.02, penalty=0.5)
    assert np.array_equal(labels, talker)
    levels = leg_levels(levels, labels)
    statistics = leg_statistics(levels, labels, speech)
    found = other_leg_talks(levels, labels, speech, statistics, margin_db=6.0)
    assert not (found & ~talks_too).any()  # never the echo
    assert found[talks_too].mean() > 0.8  # the backchannels (a few frames lost to their noise)
    # echo judged by the other leg's level alone would be taken for speech: 12 dB down, it
    # lies within 15 dB of the quieter party's own level on every frame of leg 0's turns
    assert np.all(levels[talker == 0, 1] >= statistics[0][1] - 15.0)
    assert not other_leg_talks(levels, labels, ~speech, statistics, 6.0).any()
    # both legs at their noise floor, 35 dB under their own speech: heard as nobody, whatever
    # segmentation-3.0 hears in their mix
    assert legs_heard(levels, statistics).all()
    noise = levels.copy()
    noise[60:80] = statistics[0] - 35.0
    assert np.array_equal(legs_heard(noise, statistics), ~np.isin(np.arange(200), range(60, 80)))


def test_leg_statistics_need_each_leg_to_have_led_a_second_of_speech():
    """A stream knows its legs' levels once each leg has led 1 s of clear speech (12 frames),
    and its echo of the other has been heard as long; before that there are none."""
    from diarize.inference.channels import STATISTICS_FRAMES

    assert STATISTICS_FRAMES * 0.08 == pytest.approx(0.96)

    def call(frames_each: int):
        talker = np.repeat([0, 1], frames_each)
        levels = np.empty((len(talker), 2), dtype=np.float32)
        levels[np.arange(len(talker)), talker] = -20.0
        levels[np.arange(len(talker)), 1 - talker] = -45.0  # echo 25 dB down
        return levels, talker, np.ones(len(talker), dtype=bool)

    own, echo = leg_statistics(*call(STATISTICS_FRAMES))
    assert np.allclose(own, -20.0) and np.allclose(echo, -25.0)
    assert leg_statistics(*call(STATISTICS_FRAMES - 1)) is None


def test_a_file_source_reads_each_channels_level_from_its_offset(tmp_path):
    rate = 8000
    rng = np.random.default_rng(0)
    left = rng.normal(0, 0.1, rate * 3) * np.repeat([1.0, 0.01, 1.0], rate)
    right = rng.normal(0, 0.1, rate * 3) * np.repeat([0.01, 1.0, 0.01], rate)
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    path = tmp_path / "call.wav"
    sf.write(path, stereo, rate, subtype="FLOAT")
    source = FileSource(path, offset=0.5)
    frames = round(2.5 / FRAME_SHIFT)
    expected = channel_levels_of(stereo[rate // 2 :], rate, frames)
    assert np.allclose(source.channel_levels(frames), expected, atol=1e-3)
    assert ArraySource(stereo, rate).channel_levels(5).shape == (5, 2)
    sf.write(tmp_path / "mono.wav", left, rate)
    assert FileSource(tmp_path / "mono.wav").channel_levels(frames) is None
    assert ArraySource(left, rate).channel_levels(frames) is None
    three = np.stack([left, right, left], axis=1)
    assert ArraySource(three, rate).channel_levels(frames) is None


def test_a_call_recorded_per_leg_is_diarized_by_its_channels(stereo_call):
    from diarize.inference import Diarizer
    from diarize.metrics.scoring import score

    path, reference = stereo_call
    uri = reference[0].uri
    diarizer = Diarizer.from_pretrained(device="cpu")
    assert diarizer.longform.channel_gap_db is not None
    by_channel = diarizer.diarize(path, uri=uri)
    assert len(by_channel.speakers) == 2
    der = score({uri: reference}, {uri: by_channel.turns()}, collar=0.25).overall["der"]
    diarizer.longform = replace(diarizer.longform, channel_gap_db=None)
    by_voice = diarizer.diarize(path, uri=uri)
    mono = score({uri: reference}, {uri: by_voice.turns()}, collar=0.25).overall["der"]
    assert der < mono - 1.0  # measured: 0.66% by channel, 9.43% by voice
    # overlap from the legs (each party on its own channel) against segmentation-3.0's
    diarizer.longform = replace(diarizer.longform, channel_gap_db=10.0, channel_overlap_db=None)
    heard = diarizer.diarize(path, uri=uri)
    by_overlap = score({uri: reference}, {uri: heard.turns()}, collar=0.25).overall["der"]
    assert der < by_overlap  # measured: 0.66% against 6.53%
    # a hint of more speakers than legs: voices are clustered instead
    diarizer.longform = replace(diarizer.longform, channel_gap_db=10.0)
    assert len(diarizer.diarize(path, uri=uri, num_speakers=3).speakers) == 3


def test_infer_mix_channels_turns_the_legs_off(stereo_call, tmp_path):
    from diarize.cli.main import main
    from diarize.data.rttm import read_rttm

    path, _ = stereo_call
    for name, extra in (("legs", []), ("mixed", ["--mix-channels"])):
        assert main(["infer", str(path), "--out", str(tmp_path / name), "--quiet", *extra]) == 0
    legs, mixed = (read_rttm(tmp_path / name / "call.rttm") for name in ("legs", "mixed"))
    assert legs != mixed  # by channel the labels follow the legs; mixed, the voices
    assert len({turn.speaker for turn in legs}) == 2


def test_a_call_per_leg_needs_only_segmentation(stereo_call, monkeypatch):
    """Levels that look like legs send the file through segmentation-3.0 alone; the labels
    equal those of the whole pass."""
    from diarize.inference import Diarizer
    from diarize.inference import voices as voices_module

    path, reference = stereo_call
    uri = reference[0].uri
    diarizer = Diarizer.from_pretrained(device="cpu")
    passes = []
    gather = voices_module.gather_evidence

    def counted(*args, **kwargs):
        passes.append(kwargs.get("voices", True))
        return gather(*args, **kwargs)

    monkeypatch.setattr(voices_module, "gather_evidence", counted)
    fast = diarizer.diarize(path, uri=uri)
    assert passes == [False]  # no CAM++, no SortFormer network
    monkeypatch.setattr(voices_module, "likely_legs", lambda levels, config: False)
    whole = diarizer.diarize(path, uri=uri)
    assert passes == [False, True]
    assert fast.turns() == whole.turns()
