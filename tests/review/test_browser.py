"""The review page in a real headless Chromium, opened from file:// as a user would."""

from __future__ import annotations

import pytest

from diarize.review import write_review_page

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _click_turn(driver, group: str, index: int) -> float:
    """Click the middle of a drawn turn with a real pointer; returns the turn's start."""
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_element("id", "cursor")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    point = driver.execute_script(
        "return window.diarizeReview.turnPoint(arguments[0], arguments[1])", group, index
    )
    box = driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", canvas)
    # Selenium offsets are from the element's centre
    dx = point["x"] - (box["left"] + box["width"] / 2)
    dy = point["y"] - (box["top"] + box["height"] / 2)
    ActionChains(driver).move_to_element_with_offset(canvas, int(dx), int(dy)).click().perform()
    return point["start"]


def _drawn(driver) -> dict:
    return driver.execute_script("return Object.assign({}, window.diarizeReview.stats)")


def test_page_without_reference(
    browser, open_page, console_errors, example_audio, tmp_path, example_hyp
):
    page = write_review_page(example_audio, example_hyp, tmp_path / "out")
    open_page(browser, page)
    assert console_errors(browser) == []
    drawn = _drawn(browser)
    assert drawn["turnsDrawn"] == len(example_hyp)
    assert drawn["refTurnsDrawn"] == 0 and drawn["errorsDrawn"] == 0
    lanes = browser.execute_script("return window.diarizeReview.data.lanes.map(l => l.group)")
    assert set(lanes) == {"hyp"}
    # the audio is linked relatively and the browser can decode it
    assert browser.execute_script(
        "const a = document.getElementById('audio');"
        "return a.getAttribute('src').endsWith('conversation_3speakers.flac')"
    )


@pytest.mark.parametrize("embed", [False, True], ids=["linked-audio", "embedded-audio"])
def test_page_with_reference(
    browser, open_page, console_errors, example_audio, tmp_path, example_hyp, example_ref, embed
):
    page = write_review_page(
        example_audio, example_hyp, tmp_path / "out", ref=example_ref, embed_audio=embed
    )
    open_page(browser, page)
    drawn = _drawn(browser)
    assert drawn["turnsDrawn"] == len(example_hyp)
    assert drawn["refTurnsDrawn"] == len(example_ref)
    assert drawn["errorsDrawn"] > 0
    groups = browser.execute_script("return window.diarizeReview.data.lanes.map(l => l.group)")
    assert groups.count("ref") == len({t.speaker for t in example_ref})
    assert "DER" in browser.find_element("css selector", ".meta .der").text

    # the audio must load (metadata) before seeking means anything
    browser.execute_script("window.diarizeReview.audio.load()")
    assert browser.execute_script(
        "const a = window.diarizeReview.audio;"
        "return new Promise(r => { if (a.readyState >= 1) r(true);"
        " a.addEventListener('loadedmetadata', () => r(true)); setTimeout(() => r(false), 20000); })"
    ), "the browser could not load the page's audio"
    # a click also plays; at the slowest rate the clock moves < 0.01 s in 0.15 s
    browser.execute_script("window.diarizeReview.audio.playbackRate = 0.0625")
    for group, index in (("hyp", 5), ("ref", 9), ("hyp", 0)):
        start = _click_turn(browser, group, index)
        current = browser.execute_script("return window.diarizeReview.audio.currentTime")
        assert current == pytest.approx(start, abs=0.05), (group, index)
    browser.execute_script("window.diarizeReview.audio.pause()")
    assert console_errors(browser) == []


def test_keyboard_moves_between_turns(
    browser, open_page, console_errors, example_audio, tmp_path, example_hyp
):
    page = write_review_page(example_audio, example_hyp, tmp_path / "out")
    open_page(browser, page)
    body = browser.find_element("tag name", "body")
    starts = sorted(t.start for t in example_hyp)
    # n and p also play; at the slowest rate playback moves the clock < 0.01 s in 0.15 s
    browser.execute_script("window.diarizeReview.audio.playbackRate = 0.0625")
    body.send_keys("n")
    first = browser.execute_script("return window.diarizeReview.audio.currentTime")
    body.send_keys("n")
    second = browser.execute_script("return window.diarizeReview.audio.currentTime")
    assert (first, second) == pytest.approx((starts[0], starts[1]), abs=0.01)
    body.send_keys("p")
    back = browser.execute_script("return window.diarizeReview.audio.currentTime")
    assert back == pytest.approx(starts[0], abs=0.01)
    browser.execute_script("window.diarizeReview.audio.pause()")
    assert console_errors(browser) == []


def test_phone_width_draws_every_turn(
    browser, open_page, console_errors, example_audio, tmp_path, example_hyp, example_ref
):
    page = write_review_page(example_audio, example_hyp, tmp_path / "out", ref=example_ref)
    browser.set_window_size(390, 844)
    try:
        open_page(browser, page)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the screen: no sideways scrolling
        assert _drawn(browser)["turnsDrawn"] == len(example_hyp)
        assert console_errors(browser) == []
    finally:
        browser.set_window_size(1280, 900)
