"""Benchmark: how fast a 2-hour recording's review page loads in headless Chromium.

Makes a synthetic 2-hour recording (noise bursts, 16 kHz FLAC) with a reference of ~4,000
turns by 6 speakers and a perturbed hypothesis, writes its review page (reference lanes and
error marks included), then opens it from file:// in the Debian Chromium (chromium +
chromium-driver, driven by Selenium) several times and prints the load time: from navigation
start until the page's script has drawn everything (``document.body.dataset.ready``), plus how
long zooming in, panning and redrawing take.

Usage:
    python scripts/bench_review.py [--hours 2] [--turns 4000] [--runs 5] [--embed-audio]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from diarize.data.rttm import Turn
from diarize.review import write_review_index, write_review_page

SAMPLE_RATE = 16000


def synthetic_session(hours: float, num_turns: int, seed: int = 0) -> tuple[list[Turn], list[Turn]]:
    """Reference and hypothesis turns: 6 speakers, some overlap, a few errors."""
    rng = random.Random(seed)
    duration = hours * 3600
    mean_step = duration / num_turns / 1.24  # turn length x gap factor average 1.24
    ref, t = [], 0.0
    while len(ref) < num_turns and t < duration - 1:
        length = min(rng.uniform(0.3, 2.0) * mean_step, duration - t)
        ref.append(Turn("long", t, t + length, f"speaker_{rng.randrange(6)}"))
        t += length * rng.uniform(0.85, 1.3)  # overlap now and then, pauses between turns
    hyp = []
    for turn in ref:
        if rng.random() < 0.03:
            continue  # missed turn
        speaker = turn.speaker.replace("speaker_", "spk") if rng.random() > 0.05 else "spk0"
        start = max(0.0, turn.start + rng.uniform(-0.3, 0.3))
        hyp.append(
            Turn("long", start, max(start + 0.1, turn.end + rng.uniform(-0.3, 0.3)), speaker)
        )
    return ref, hyp


def write_audio(path: Path, hours: float, turns: list[Turn], seed: int = 0) -> None:
    """Quiet noise with louder noise bursts inside turns, written block by block."""
    rng = np.random.default_rng(seed)
    total = int(hours * 3600 * SAMPLE_RATE)
    block = 600 * SAMPLE_RATE
    starts = np.array([t.start for t in turns])
    ends = np.array([t.end for t in turns])
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, subtype="PCM_16", format="FLAC") as out:
        for first in range(0, total, block):
            n = min(block, total - first)
            times = (first + np.arange(n)) / SAMPLE_RATE
            inside = np.searchsorted(starts, times, side="right") - 1
            active = (inside >= 0) & (times < ends[np.clip(inside, 0, None)])
            gain = np.where(active, 0.2, 0.01) * (1 + 0.5 * np.sin(2 * np.pi * 3 * times))
            out.write((rng.standard_normal(n) * gain).clip(-1, 1).astype(np.float32))


def measure(page: Path, runs: int) -> None:
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1440,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    loads, redraws = [], []
    try:
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(page.resolve().as_uri())
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return document.body.dataset.ready === '1'")
            )
            loads.append(
                driver.execute_script(
                    "const n = performance.getEntriesByType('navigation')[0];"
                    "return performance.now() - n.startTime"
                )
                / 1000
            )
            redraws.append(
                driver.execute_script(
                    "const r = window.diarizeReview, t0 = performance.now();"
                    "r.draw(); r.zoom(1 / 64); r.view.start = 3000; r.draw(); r.zoom(64);"
                    "return (performance.now() - t0) / 4"
                )
                / 1000
            )
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        drawn = driver.execute_script("return Object.assign({}, window.diarizeReview.stats)")
    finally:
        driver.quit()
    print(
        f"page load (navigation start -> drawn), {runs} runs: median {statistics.median(loads):.3f} s, "
        f"max {max(loads):.3f} s"
    )
    print(f"one full redraw (zoom/pan), median: {1000 * statistics.median(redraws):.1f} ms")
    print(
        f"turns drawn at whole-file view: {drawn['turnsDrawn']} system, "
        f"{drawn['refTurnsDrawn']} reference; console errors: {len(errors)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--turns", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--embed-audio", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the page here instead of a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ref, hyp = synthetic_session(args.hours, args.turns)
        audio = folder / "long.flac"
        started = time.perf_counter()
        write_audio(audio, args.hours, ref)
        made = time.perf_counter()
        page = write_review_page(
            audio, hyp, folder / "review", ref=ref, embed_audio=args.embed_audio
        )
        write_review_index([page], folder / "review")
        written = time.perf_counter()
        print(
            f"{args.hours:g} h synthetic recording, {len(ref)} reference / {len(hyp)} system turns "
            f"(audio made in {made - started:.1f} s)"
        )
        print(f"page written in {written - made:.2f} s, {page.stat().st_size / 1e6:.2f} MB")
        measure(page, args.runs)


if __name__ == "__main__":
    main()
