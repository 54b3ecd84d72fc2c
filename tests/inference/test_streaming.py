import io
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from diarize.inference.longform import SAMPLES_PER_FRAME, LongformConfig
from diarize.inference.postprocess import PostProcessingParams, speaker_segments
from diarize.inference.streaming import (
    NEW_VOICE_RUN_FRAMES,
    StreamingDiarizer,
    TurnTracker,
    latency_frames,
)

sys.path.append(str(Path(__file__).parent))
from planted_network import PlantedNetwork, frame_labels, render, schedule  # noqa: E402
from test_longform import alternate, assert_one_label_per_speaker, folded_session  # noqa: E402

PLANTED = LongformConfig(silence_floor_db=None, level_rms=None)


def stream_all(stream, audio, block=16000):
    updates = [stream.feed(audio[i : i + block]) for i in range(0, len(audio), block)]
    return [*updates, stream.finish()]


def test_latency_presets():
    assert latency_frames(0.32) == (3, 1, 0)  # NeMo's
    assert latency_frames(1.0) == (11, 2, 0)  # NeMo's 6 + 7 costs twice the steps
    assert latency_frames(10) == (11, 2, 111)  # the 1.04-s engine, the rest held
    assert latency_frames(2.0) == (11, 2, 12)
    assert latency_frames(0.8) == (5, 5, 0)
    with pytest.raises(ValueError):
        latency_frames(0.05)


@pytest.mark.parametrize("latency", [1.04, 10.0])
def test_folded_speaker_streaming_keeps_labels(latency):
    """A's column also carries B's voice (at 10 s, frames are held 9 s more): every frame is
    labelled by its own voice, so each voice keeps its own label on every frame where it
    speaks alone, the first frames of a turn included (labelling frames by their column's
    speaker gave A's first 0.5 s to B); at 1.04 s, except a new voice's first 0.64 s: it
    becomes a speaker once a second window of solo speech is like its first."""
    network, frames = folded_session()
    stream = StreamingDiarizer(network, latency, PLANTED)
    stream_all(stream, render(frames))
    labels = frame_labels(stream.probs)
    if latency < 10:
        frames = frames.copy()
        for token in (1, 3):  # B and C arrive (A is the first window: the first speaker)
            first = np.flatnonzero(frames[:, token])[0]
            frames[first : first + 8, token] = False
    seen = assert_one_label_per_speaker(labels, frames, {"A": [0], "B": [1], "C": [3]})
    assert seen == {"A": 0, "B": 1, "C": 2}


def test_streaming_return_after_absence_and_six_speakers():
    network = PlantedNetwork([(i, i) for i in range(6)], num_voices=6, num_activities=6)
    turns = alternate([0, 1], 0, 120) + alternate([1, 2], 120, 1380) + alternate([0, 2], 1380, 1440)
    turns += [
        t for i in range(6) for t in alternate([3 + i % 3, i % 3], 1440 + 60 * i, 1500 + 60 * i)
    ]
    frames = schedule(1800, turns, 6)
    stream = StreamingDiarizer(network, 10.0, PLANTED)
    stream_all(stream, render(frames), block=160000)
    labels = frame_labels(stream.probs)
    assert_one_label_per_speaker(labels, frames, {i: [i] for i in range(6)})
    # the posteriors' buffer grows with the frames, not once more per new speaker (it doubled
    # its rows at every new speaker: 2^6 times the frames here, 44 GB on a 90-s stream of 22)
    assert len(stream._history) <= 2 * len(frames)


@pytest.mark.parametrize("latency", [1.04, 10.0])
def test_output_does_not_depend_on_how_samples_are_split(latency):
    network, frames = folded_session()
    audio = render(frames[:1500])
    params = PostProcessingParams(pad_onset=0.1, pad_offset=0.1, min_duration_on=0.3)
    one = StreamingDiarizer(network, latency, PLANTED, params)
    updates = stream_all(one, audio, block=len(audio))
    other = StreamingDiarizer(network, latency, PLANTED, params)
    stream_all(other, audio, block=777)
    np.testing.assert_array_equal(one.probs, other.probs)
    assert one.turns == other.turns and len(one.turns) > 10
    # what each update made final never changes afterwards
    for update in updates:
        rows = one.probs[update.start : update.start + len(update.probs)]
        np.testing.assert_array_equal(rows[:, : update.probs.shape[1]], update.probs)


@pytest.mark.parametrize("latency", [1.04, 10.0])
def test_frames_are_final_after_the_latency(latency):
    network, frames = folded_session()
    stream = StreamingDiarizer(network, latency, PLANTED)
    block, lookahead, hold = latency_frames(latency)
    audio = render(frames[:200])
    received = 0
    for start in range(0, len(audio), 5000):
        stream.feed(audio[start : start + 5000])
        received = min(len(audio), start + 5000)
        heard = received // SAMPLES_PER_FRAME
        wait = lookahead + hold
        assert heard - (block + wait) < len(stream.probs) <= max(0, heard - wait)
    stream.finish()
    assert len(stream.probs) == 200


def test_blocks_of_several_channels_are_averaged_as_offline():
    network, frames = folded_session()
    audio = render(frames[:150])
    echo = 0.5 * audio[::-1]  # two different channels whose mean is audio
    stereo = np.stack([audio + echo, audio - echo], axis=1)
    mono, both = (
        StreamingDiarizer(network, 1.04, PLANTED),
        StreamingDiarizer(network, 1.04, PLANTED),
    )
    for start in range(0, len(audio), 7000):
        mono.feed(audio[start : start + 7000])
        both.feed(stereo[start : start + 7000])
    mono.finish(), both.finish()
    assert len(both.probs) == 150 and np.array_equal(mono.probs, both.probs)


def test_turn_tracker_equals_offline_post_processing():
    rng = np.random.default_rng(0)
    probs = np.clip(rng.normal(0, 1, (2000, 3)).cumsum(0) / 10 % 1.0, 0, 1).astype(np.float32)
    params = PostProcessingParams(0.6, 0.4, 0.17, 0.09, 0.49, 0.23)
    tracker = TurnTracker(params)
    frames = 0
    while frames < len(probs):
        frames = min(len(probs), frames + int(rng.integers(1, 40)))
        tracker.update(probs, frames, "x", None)
    tracker.update(probs, len(probs), "x", len(probs) * 0.08)
    for column in range(3):
        name = tracker.names[column]
        got = [(t.start, t.end) for t in tracker.turns if t.speaker == name]
        want = speaker_segments(probs[:, column], params, len(probs) * 0.08)
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_stream_command_stdin_equals_file(model_path, tmp_path, monkeypatch, capsys):
    from diarize.cli.main import main

    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal(16000 * 6)).astype(np.float32)
    wav = tmp_path / "talk.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    common = ["--model", str(model_path), "--latency", "2"]
    assert main(["stream", str(wav), "--out", str(tmp_path / "a"), *common]) == 0
    printed = capsys.readouterr().out
    pcm, _ = sf.read(wav, dtype="int16")
    stdin = io.TextIOWrapper(io.BytesIO(pcm.astype("<i2").tobytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    args = [
        "stream",
        "-",
        "--out",
        str(tmp_path / "b"),
        "--model",
        str(model_path),
        "--uri",
        "talk",
    ]
    assert main(args) == 0
    from_file = (tmp_path / "a" / "talk.rttm").read_text()
    assert from_file == (tmp_path / "b" / "talk.rttm").read_text()
    assert printed.count("SPEAKER talk") == from_file.count("SPEAKER talk") > 0


def test_stream_command_errors(tmp_path, capsys):
    from diarize.cli.main import main

    assert main(["stream", str(tmp_path / "missing.wav"), "--out", str(tmp_path)]) == 1
    assert "no such audio file" in capsys.readouterr().err
    wav = tmp_path / "x.wav"
    sf.write(wav, np.zeros(1600, np.float32), 16000)
    assert main(["stream", str(wav), "--out", str(tmp_path), "--latency", "0.01"]) == 1
    assert "--latency" in capsys.readouterr().err


def test_campplus_front_end_streams_and_links():
    """The real CAM++ path (untrained weights): block embeddings and pooling run."""
    audio = (0.1 * np.random.default_rng(1).standard_normal(16000 * 3)).astype(np.float32)
    stream = StreamingDiarizer(_campplus_network(), 2.0, embed_context_seconds=0.5)
    stream_all(stream, audio, block=8000)
    assert stream.probs.shape[0] == 38 and np.isfinite(stream.probs).all()


def _campplus_network():
    import torch

    from diarize.models import build_network
    from diarize.models.config import EncoderConfig, NetworkConfig, SortformerConfig

    torch.manual_seed(0)
    config = NetworkConfig(
        encoder=EncoderConfig(type="campplus", d_model=32, num_layers=1, num_heads=2),
        sortformer=SortformerConfig(d_model=32, num_layers=1, num_heads=2, ff_dim=64),
    )
    return build_network(config).eval()


@pytest.mark.parametrize("norm_seconds", [6.0, 0.0])
def test_stream_normalises_a_step_by_its_history(norm_seconds):
    """With ``norm_seconds`` a step's fbank is normalised by the mean of the last 6 s, as an
    offline CAM++ window is by its 7 s: the frames of the last 2 s change when the audio 4 s
    before them changes (and not without it, where a step sees 1 s before itself)."""
    network = _campplus_network()
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(16000 * 8)).astype(np.float32)
    louder = audio.copy()
    louder[16000 * 2 : 16000 * 4] *= 8.0  # 4-6 s before the end: outside the 1-s context
    config = LongformConfig(level_rms=None)

    def last_frames(signal, block=16000):
        stream = StreamingDiarizer(network, 1.04, longform=config, norm_seconds=norm_seconds)
        stream_all(stream, signal, block)
        return stream._ring[-25:]

    changed = float((last_frames(audio) - last_frames(louder)).abs().max())
    assert (changed > 1e-3) == (norm_seconds > 0), changed
    # and still the same whatever the blocks the samples come in
    assert float((last_frames(audio, 5000) - last_frames(audio)).abs().max()) < 1e-5


def test_embed_tail_is_one_window_normalised_by_all_of_the_signal():
    """``embed_tail`` with everything kept equals ``embed_one`` with one window that spans the
    signal; keeping the tail gives the same frames as the whole run's tail on a trunk that
    sees only the tail."""
    import torch

    from diarize.models.campplus_frontend import CampplusFrontEnd

    torch.manual_seed(0)
    front_end = CampplusFrontEnd(window_sec=3.04, context_sec=0.0).eval()
    signal = 0.1 * torch.randn(16000 * 3)
    with torch.no_grad():
        whole = front_end.embed_one(signal, 38)
        tail = front_end.embed_tail(signal, 38, 38)
        assert torch.allclose(whole, tail, atol=1e-4)
        assert front_end.embed_tail(signal, 38, 13).shape == (13, 512)


@pytest.mark.parametrize("latency", [0.32, 1.04])
def test_bundled_stream_takes_its_speech_from_segmentation(monkeypatch, latency):
    """With segmentation-3.0 in the model (the bundled one) the stream labels speech where it
    hears speech in the last 10 s, as offline: silenced, the stream has no turns. At 0.32 s
    too, where a step's 4 new frames hold no whole window of solo speech (the windows' speech
    was once read from the labels of final frames, so no first speaker was ever made)."""
    from diarize.audio.io import load_audio
    from diarize.models.segmentation import PyanNet

    audio = load_audio(Path(__file__).parents[2] / "diarize/examples/conversation_3speakers.flac")
    audio = audio[: 12 * 16000]
    heard = StreamingDiarizer.from_pretrained(latency=latency)
    stream_all(heard, audio)
    assert len(heard.turns) >= 2
    silent = lambda self, samples, frames: np.zeros((2, frames), np.float32)  # noqa: E731
    monkeypatch.setattr(PyanNet, "speech_of_last", silent)
    stream = StreamingDiarizer.from_pretrained()
    stream_all(stream, audio)
    assert stream.turns == [] and not stream.probs.any()


def test_bundled_stream_calls_the_network_for_a_new_voice_once_per_window_hop():
    """At 0.32 s (3 frames a step) a voice unlike every speaker called the network at every
    step; each run then owned 3 frames, and the only windows of solo speech centred there were
    the ones cut short by the end of what is heard."""
    from diarize.audio.io import load_audio

    audio = load_audio(Path(__file__).parents[2] / "diarize/examples/conversation_3speakers.flac")
    stream = StreamingDiarizer.from_pretrained(latency=0.32)
    runs, probs = [], stream.model.probs

    def counted(window):
        runs.append((stream._final, stream.linker.num_speakers))
        return probs(window)

    stream.model.probs = counted
    stream_all(stream, audio[: 30 * 16000])
    assert stream.linker.num_speakers >= 2
    gaps = [b[0] - a[0] for a, b in zip(runs, runs[1:], strict=False) if b[1] > 0]
    assert gaps and min(gaps) >= NEW_VOICE_RUN_FRAMES


def test_bundled_stream_gives_overlapped_frames_a_second_speaker(monkeypatch):
    """Where segmentation-3.0 hears two people, a streamed frame also gets the nearest other
    speaker, as offline; where it hears one, one speaker per frame."""
    from diarize.audio.io import load_audio
    from diarize.models.segmentation import PyanNet

    audio = load_audio(Path(__file__).parents[2] / "diarize/examples/conversation_3speakers.flac")
    audio = audio[: 20 * 16000]
    speakers_per_frame = {}
    for overlap in (0.0, 0.9):
        heard = lambda self, samples, frames, o=overlap: np.stack(  # noqa: E731
            [np.full(frames, 0.9, np.float32), np.full(frames, o, np.float32)]
        )
        monkeypatch.setattr(PyanNet, "speech_of_last", heard)
        stream = StreamingDiarizer.from_pretrained()
        stream_all(stream, audio)
        assert stream.probs.shape[1] >= 2, "the example's voices were not told apart"
        speakers_per_frame[overlap] = (stream.probs > 0).sum(1)
    assert speakers_per_frame[0.0].max() == 1
    # a second speaker wherever another one spoke within 2 s (measured: 29% of the frames)
    assert (speakers_per_frame[0.9] == 2).mean() > 0.15


def test_bundled_stream_runs_the_network_at_least_every_other_step_and_labels_every_step(
    monkeypatch,
):
    """With segmentation-3.0's speech the SortFormer network runs at least once per 1.76 s
    (every other 1.04-s step) once the stream has a speaker, not necessarily at every step;
    the steps between still label every frame where segmentation-3.0 hears speech, by voice.
    With ``network_seconds=0`` it runs at every step."""
    from diarize.audio.io import load_audio
    from diarize.inference.window_model import WindowModel
    from diarize.models.segmentation import PyanNet

    audio = load_audio(Path(__file__).parents[2] / "diarize/examples/conversation_3speakers.flac")
    audio = audio[: 30 * 16000]
    heard = lambda self, samples, frames: np.stack(  # noqa: E731
        [np.full(frames, 0.9, np.float32), np.zeros(frames, np.float32)]
    )
    monkeypatch.setattr(PyanNet, "speech_of_last", heard)
    probs = WindowModel.probs
    labelled, runs = {}, {}
    for seconds in (1.76, 0.0):
        calls, steps = [], []
        counted = lambda self, w, c=calls: c.append(1) or probs(self, w)  # noqa: E731
        monkeypatch.setattr(WindowModel, "probs", counted)
        stream = StreamingDiarizer.from_pretrained(latency=1.04, network_seconds=seconds)
        monkeypatch.setattr(
            stream, "_step", lambda *a, s=steps, f=stream._step: s.append(1) or f(*a)
        )
        stream_all(stream, audio, block=11 * SAMPLES_PER_FRAME)
        assert stream.probs.shape[1] >= 2
        labelled[seconds], runs[seconds] = stream.probs.any(1), (len(calls), len(steps))
    assert runs[0.0][0] == runs[0.0][1]  # at every step
    calls, steps = runs[1.76]
    assert steps / 2 - 2 <= calls < steps - 2, runs
    # the same frames are speech either way (digital silence is not)
    assert labelled[1.76].mean() > 0.5
    assert (labelled[1.76] == labelled[0.0]).all(), "a step between the network's left speech"


def test_stream_runs_the_network_between_its_steps_for_an_unknown_voice(monkeypatch):
    """Between the network's scheduled steps it also runs when the step's speech holds a voice
    unlike every speaker so far (``NEW_VOICE_FRAMES`` speech frames under
    ``NEW_VOICE_SIMILARITY``): only the network's columns create speakers."""
    from diarize.inference import streaming

    stream = StreamingDiarizer.from_pretrained(latency=1.04)
    stream.linker.centroids.append(np.ones(192))  # one speaker so far
    window, block = np.zeros((20, 512)), 11
    speech = np.stack([np.full(block, 0.9), np.zeros(block)])
    low = streaming.NEW_VOICE_SIMILARITY - 0.1

    def due(scores, tracks=speech):
        monkeypatch.setattr(stream, "_voice_scores", lambda *a: np.array(scores)[:, None])
        return stream._network_due(window, 9, block, tracks)

    assert not due([0.9] * block)  # every frame a known voice
    assert due([0.9] * (block - 3) + [low] * 3)
    assert not due([0.9] * (block - 2) + [low] * 2)  # too few frames
    silent = np.stack([np.r_[np.full(block - 3, 0.9), np.zeros(3)], np.zeros(block)])
    assert not due([0.9] * (block - 3) + [low] * 3, silent)  # unlike, but not speech
    stream._unlinked = stream.network_frames
    assert due([0.9] * block)  # network_seconds since the network last ran


def test_a_voice_starting_at_the_end_of_a_step_is_seen_in_its_look_ahead(monkeypatch):
    """A step's path runs on through its look-ahead frames (heard, not labelled yet): a second
    voice that leads by 0.2 on the step's last 2 frames and its 2 look-ahead frames gets those
    2 frames (4 x 0.2 pays the 0.5 change penalty; the 2 frames alone do not)."""
    stream = StreamingDiarizer.from_pretrained(latency=1.04)
    assert stream.lookahead == 2 and stream.config.change_penalty == 0.5
    stream.linker.centroids.extend([np.ones(192), -np.ones(192)])  # two speakers so far
    stream._path = np.zeros(1, dtype=np.int64)  # the last final frame: the first speaker
    block, known = 11, 5
    scores = np.array([[0.9, 0.1]] * (block - 2) + [[0.3, 0.5]] * 4)  # the step's and look-ahead
    asked = []

    def voice_scores(window, start, stop):
        asked.append((start, stop))
        return scores[start - known : stop - known].copy()

    monkeypatch.setattr(stream, "_voice_scores", voice_scores)
    window = np.zeros((known + block + 2, 512))
    tracks = np.stack([np.full(block + 2, 0.9), np.zeros(block + 2)])
    stream._label(window, known, known, known + block, tracks)
    assert asked == [(known, known + block + 2)]
    labels = stream._history[:block].argmax(1)
    assert labels.tolist() == [0] * (block - 2) + [1, 1]
    assert not stream._history[block:].any()  # the look-ahead is not labelled
