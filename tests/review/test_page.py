import base64
import io
import json
import re

import pytest
import soundfile as sf
from pyannote.core import Annotation, Segment

from diarize.data.rttm import Turn
from diarize.errors import DiarizeError
from diarize.review import read_review_summary, review_pages, write_review_index, write_review_page


def _data(page):
    text = page.read_text()
    match = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', text)
    return json.loads(match.group(1))


def test_page_data_and_summary(tmp_path, example_audio, example_hyp, example_ref):
    page = write_review_page(example_audio, example_hyp, tmp_path / "out", ref=example_ref)
    assert page == tmp_path / "out" / "conversation_3speakers.html"
    data = _data(page)
    assert data["duration"] == pytest.approx(60.0)
    assert sum(lane["group"] == "hyp" for lane in data["lanes"]) == 3
    assert len(data["turns"]) == len(example_hyp) + len(example_ref)
    assert all(data["errors"][k] for k in ("missed", "false_alarm", "confusion"))
    assert len(base64.b64decode(data["envelope"]["data"])) == 2 * 60 * 50
    # reference lanes take the colour of the system speaker they are mapped to
    colours = {lane["label"]: lane["color"] for lane in data["lanes"]}
    assert colours["vi+john_s181p36"] == colours["spk0"]
    # nothing from the network: no http(s) URL other than in text
    text = page.read_text()
    assert not re.search(r"(src|href)=\"https?:", text)
    assert 'src="../conversation_3speakers.flac"' in text or "conversation_3speakers.flac" in text
    summary = read_review_summary(page)
    assert summary.uri == "conversation_3speakers" and summary.num_speakers == 3
    assert summary.num_turns == len(example_hyp) and 0 < summary.der < 50


def test_relative_audio_path_and_annotation_input(tmp_path, example_audio):
    annotation = Annotation(uri="meeting one")
    annotation[Segment(1, 2)] = "A"
    annotation[Segment(1.5, 3)] = "B"
    page = write_review_page(example_audio, annotation, tmp_path / "a" / "b")
    assert page.name == "meeting one.html"
    src = re.search(r'<audio id="audio"[^>]* src="([^"]+)"', page.read_text()).group(1)
    assert (page.parent / src).resolve() == example_audio.resolve()
    assert _data(page)["overlap"]["hyp"] == [[1.5, 2.0]]


def test_embedded_audio_is_ogg_vorbis(tmp_path, example_audio, example_hyp):
    page = write_review_page(example_audio, example_hyp, tmp_path, embed_audio=True)
    text = page.read_text()
    assert '<audio id="audio" controls preload="metadata">' in text  # no src: a blob URL
    payload = re.search(r'id="review-audio" data-mime="audio/ogg">([^<]+)</script>', text).group(1)
    info = sf.info(io.BytesIO(base64.b64decode(payload)))
    assert (info.format, info.subtype, info.samplerate) == ("OGG", "VORBIS", 16000)
    assert info.duration == pytest.approx(60.0, abs=0.1)


def test_labels_cannot_break_out_of_the_page(tmp_path, example_audio):
    turns = [Turn("x", 0, 1, "</script><b>")]
    page = write_review_page(example_audio, turns, tmp_path, uri="x")
    text = page.read_text()
    assert "</script><b>" not in text
    assert _data(page)["lanes"][0]["label"] == "</script><b>"


def test_index_lists_pages_and_summaries(tmp_path, example_audio, example_hyp, example_ref):
    first = write_review_page(example_audio, example_hyp, tmp_path, ref=example_ref)
    second = write_review_page(example_audio, example_hyp[:3], tmp_path, uri="short")
    (tmp_path / "notes.html").write_text("<p>not a review page</p>")
    assert review_pages(tmp_path) == [first, second]
    index = write_review_index([second, read_review_summary(first)], tmp_path)
    text = index.read_text()
    assert text.index('href="conversation_3speakers.html"') < text.index('href="short.html"')
    assert f"{read_review_summary(first).der:.2f}%" in text
    with pytest.raises(DiarizeError, match="notes.html: not a diarize review page"):
        write_review_index([tmp_path / "notes.html"], tmp_path)


def test_missing_audio_is_a_one_line_error(tmp_path, example_hyp):
    with pytest.raises(DiarizeError, match="nope.wav: no such audio file"):
        write_review_page(tmp_path / "nope.wav", example_hyp, tmp_path)


def test_long_audio_embeds_without_crashing(monkeypatch):
    # libsndfile's Vorbis writer segfaulted on one 10-minute write; blocks avoid it
    import numpy as np

    from diarize.review import signal

    noise = np.random.default_rng(0).standard_normal(16000 * 660).astype(np.float32) * 0.1
    monkeypatch.setattr(signal, "load_audio", lambda path: noise)
    mime, payload = signal.compressed_audio("eleven_minutes.wav")
    assert mime == "audio/ogg"
    assert sf.info(io.BytesIO(payload)).duration == pytest.approx(660, abs=0.1)
