"""``diarize infer --html``: review pages and an index from a batch run, resumable."""

from __future__ import annotations

import json
import re

import pytest

from diarize.cli.main import main
from diarize.data.rttm import read_rttm
from diarize.review import read_review_summary

from .conftest import EXAMPLES

URIS = ("conversation_2speakers", "conversation_3speakers")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _data(page):
    text = page.read_text()
    match = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', text)
    return json.loads(match.group(1))


@pytest.fixture()
def manifest(tmp_path):
    """The bundled examples with their RTTMs as references, as ``diarize manifest`` writes it."""
    path = tmp_path / "examples.json"
    assert main(["manifest", str(EXAMPLES), "--rttm-dir", str(EXAMPLES), "--out", str(path)]) == 0
    return path


def _infer(manifest, out, model_path, *extra):
    args = ["infer", str(manifest), "--out", str(out), "--model", str(model_path)]
    return main([*args, "--device", "cpu", "--quiet", "--html", *extra])


def test_infer_html_writes_pages_with_references_and_index(
    tmp_path, manifest, model_path, capsys, browser, open_page, console_errors
):
    out = tmp_path / "out"
    assert _infer(manifest, out, model_path) == 0
    assert "2 diarized" in capsys.readouterr().out
    index = (out / "index.html").read_text()
    for uri in URIS:
        page = out / f"{uri}.html"
        ref = read_rttm(EXAMPLES / f"{uri}.rttm")
        data = _data(page)
        ref_lanes = [lane for lane in data["lanes"] if lane["group"] == "ref"]
        assert len(ref_lanes) == len({t.speaker for t in ref}), uri
        assert data["errors"] is not None
        summary = read_review_summary(page)
        assert summary.der is not None and summary.num_turns == len(read_rttm(out / f"{uri}.rttm"))
        assert f'href="{uri}.html"' in index
        # the audio is linked, not copied, and resolves from the page's folder
        src = re.search(r'<audio id="audio"[^>]* src="([^"]+)"', page.read_text()).group(1)
        assert (page.parent / src).resolve() == (EXAMPLES / f"{uri}.flac").resolve()

    # in a real browser: every turn drawn, the reference lanes too, no console errors
    page = out / "conversation_3speakers.html"
    open_page(browser, page)
    assert console_errors(browser) == []
    drawn = browser.execute_script("return Object.assign({}, window.diarizeReview.stats)")
    assert drawn["turnsDrawn"] == len(read_rttm(out / "conversation_3speakers.rttm"))
    assert drawn["refTurnsDrawn"] == len(read_rttm(EXAMPLES / "conversation_3speakers.rttm"))
    browser.get((out / "index.html").resolve().as_uri())
    assert console_errors(browser) == []

    # a re-run skips finished recordings and keeps their pages; a missing page is redone
    before = {uri: (out / f"{uri}.html").stat().st_mtime_ns for uri in URIS}
    (out / "index.html").unlink()
    assert _infer(manifest, out, model_path) == 0
    report = capsys.readouterr().out
    assert "0 diarized" in report and "2 skipped" in report
    # the index is rebuilt at the end of every run, listing the pages of earlier runs too
    index = (out / "index.html").read_text()
    assert all(f'href="{uri}.html"' in index for uri in URIS)
    assert {uri: (out / f"{uri}.html").stat().st_mtime_ns for uri in URIS} == before
    (out / "conversation_2speakers.html").unlink()
    assert _infer(manifest, out, model_path) == 0
    report = capsys.readouterr().out
    assert "1 diarized" in report and "1 skipped" in report
    assert (out / "conversation_2speakers.html").is_file()
    assert (out / "conversation_3speakers.html").stat().st_mtime_ns == before[URIS[1]]


def test_infer_html_embed_audio(tmp_path, manifest, model_path):
    out = tmp_path / "out"
    assert _infer(manifest, out, model_path, "--html-embed-audio") == 0
    text = (out / "conversation_3speakers.html").read_text()
    assert '<script type="application/octet-stream" id="review-audio"' in text
    assert not re.search(r'<audio id="audio"[^>]* src=', text)  # nothing linked
    assert (out / "index.html").is_file()


def test_infer_without_html_writes_no_pages(tmp_path, model_path):
    out = tmp_path / "out"
    args = ["infer", str(EXAMPLES / "conversation_2speakers.flac"), "--out", str(out)]
    assert main([*args, "--model", str(model_path), "--device", "cpu", "--quiet"]) == 0
    assert not list(out.glob("*.html"))


def test_review_step_travels_to_worker_processes():
    """``--devices N`` ships the step to the workers by pickle."""
    import pickle

    from diarize.review.batch import review_options, review_step

    step = pickle.loads(pickle.dumps(review_step(embed_audio=True)))
    assert step.outputs(EXAMPLES, "x") == [EXAMPLES / "x.html"]
    assert review_options(html=False) == {}
    assert len(review_options(html=False, embed_audio=True)["steps"]) == 1
