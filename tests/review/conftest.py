"""Review page fixtures: the bundled 3-speaker example, a perturbed hypothesis, a real browser.

The browser is the Debian ``chromium`` with ``chromium-driver``, driven by Selenium (from PyPI);
``.ci/run`` installs them, and a missing browser fails the browser tests rather than skipping
them. Nothing is downloaded: Selenium Manager is kept offline.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from diarize.data.rttm import Turn, read_rttm, write_rttm

EXAMPLES = Path(__file__).resolve().parents[2] / "diarize" / "examples"
EXAMPLE_AUDIO = EXAMPLES / "conversation_3speakers.flac"
EXAMPLE_RTTM = EXAMPLES / "conversation_3speakers.rttm"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def perturbed(turns: list[Turn], seed: int = 0) -> list[Turn]:
    """A plausible system output: boundaries moved by up to 0.4 s, speakers renamed, one turn
    given to the wrong speaker and one dropped (so every error kind shows)."""
    rng = random.Random(seed)
    names = {name: f"spk{k}" for k, name in enumerate(dict.fromkeys(t.speaker for t in turns))}
    out = [
        replace(
            t,
            start=max(0.0, t.start + rng.uniform(-0.4, 0.4)),
            end=min(t.end + rng.uniform(-0.4, 0.4), 60.0),  # not past the audio's end
            speaker=names[t.speaker],
        )
        for t in turns
    ]
    out[4] = replace(out[4], speaker="spk0" if out[4].speaker != "spk0" else "spk1")
    del out[7]
    return [t for t in out if t.end > t.start]


@pytest.fixture(scope="session")
def example_ref() -> list[Turn]:
    return read_rttm(EXAMPLE_RTTM)


@pytest.fixture(scope="session")
def example_hyp(example_ref) -> list[Turn]:
    return perturbed(example_ref)


@pytest.fixture()
def example_dir(tmp_path, example_hyp) -> Path:
    """A folder with the example audio, its reference ``ref/`` and a hypothesis ``hyp/``."""
    shutil.copy(EXAMPLE_AUDIO, tmp_path / EXAMPLE_AUDIO.name)
    (tmp_path / "ref").mkdir()
    shutil.copy(EXAMPLE_RTTM, tmp_path / "ref" / EXAMPLE_RTTM.name)
    write_rttm(tmp_path / "hyp" / EXAMPLE_RTTM.name, example_hyp)
    return tmp_path


def _executable(names: tuple[str, ...], env: str) -> str:
    found = os.environ.get(env) or next(filter(None, map(shutil.which, names)), None)
    if not found:
        pytest.fail(
            f"none of {', '.join(names)} on PATH (or ${env}): the review page tests need a real "
            "browser; install it with 'apt-get install chromium chromium-driver' (.ci/run does)"
        )
    return found


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Selenium WebDriver) that records the console log."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not fetch a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _executable(BROWSERS, "CHROMIUM")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=_executable(("chromedriver",), "CHROMEDRIVER"))
    driver = webdriver.Chrome(service=service, options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def example_audio() -> Path:
    return EXAMPLE_AUDIO


@pytest.fixture(scope="session")
def open_page():
    """``open_page(driver, page)``: load a page from file:// and wait until it is drawn."""
    return _open_page


@pytest.fixture(scope="session")
def console_errors():
    """``console_errors(driver)``: what the page logged at error level."""
    return _console_errors


def _open_page(driver, page: Path, timeout: float = 30.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # forget what earlier pages logged
    driver.get(page.resolve().as_uri())
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.body && document.body.dataset.ready === '1'")
    )


def _console_errors(driver) -> list[str]:
    # uncaught exceptions and failed loads are logged at this level too
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
