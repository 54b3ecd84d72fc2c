"""HTML text of the review pages: the page skeleton, its tables and the batch index."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from diarize.review.signal import seconds_label

if TYPE_CHECKING:
    from diarize.review.page import ReviewSummary
    from diarize.review.timeline import ErrorRegions, SpeakerStats

KEYS = (
    "<kbd>space</kbd> play/pause &middot; <kbd>n</kbd>/<kbd>&rarr;</kbd> next turn &middot; "
    "<kbd>p</kbd>/<kbd>&larr;</kbd> previous turn &middot; <kbd>e</kbd>/<kbd>E</kbd> next/previous "
    "error &middot; <kbd>+</kbd>/<kbd>-</kbd> zoom &middot; <kbd>0</kbd> whole file. Click a turn "
    "to play it, click elsewhere to move there, drag or shift+wheel to pan, ctrl+wheel to zoom."
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def page_html(
    *,
    title: str,
    meta: str,
    stats: str,
    legend: str,
    audio_src: str,
    embedded: tuple[str, str] | None,
    data_json: str,
    summary_json: str,
    css: str,
    script: str,
) -> str:
    """The whole page; ``meta``, ``stats`` and ``legend`` are HTML already escaped."""
    audio_data = ""
    if embedded is not None:
        mime, payload = embedded
        audio_data = (
            f'<script type="application/octet-stream" id="review-audio" data-mime="{_e(mime)}">'
            f"{payload}</script>\n"
        )
    src = f' src="{_e(audio_src)}"' if audio_src else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="diarize review">
<link rel="icon" href="data:,">
<script type="application/json" id="review-summary">{summary_json}</script>
<title>{_e(title)} &ndash; diarization review</title>
<style>{css}</style>
</head>
<body>
<main>
<p class="meta"><a href="index.html">&larr; all recordings</a></p>
<h1>{_e(title)}</h1>
<p class="meta">{meta}</p>
<div class="controls">
<button id="prev" title="previous turn (p)" aria-label="previous turn">&lsaquo; turn</button>
<button id="play" title="play/pause (space)" aria-label="play or pause">&#x25B6;</button>
<button id="next" title="next turn (n)" aria-label="next turn">turn &rsaquo;</button>
<audio id="audio" controls preload="metadata"{src}></audio>
<button id="zoom-out" title="zoom out (-)" aria-label="zoom out">&minus;</button>
<button id="zoom-in" title="zoom in (+)" aria-label="zoom in">+</button>
<button id="fit" title="whole file (0)">all</button>
<span class="readout"><b id="clock">0:00</b> &middot; speaking: <b id="now">&mdash;</b></span>
</div>
<p id="audio-error" class="warning" hidden>The audio could not be played from
<code>{_e(audio_src) or "the embedded data"}</code>. Keep it next to this page, or rebuild the page
with <code>--embed-audio</code>.</p>
<canvas id="overview" role="img" aria-label="overview of the whole recording"></canvas>
<div id="timeline-box">
<canvas id="timeline" role="img" aria-label="speaker turns on a timeline"></canvas>
<canvas id="cursor" aria-hidden="true"></canvas>
</div>
<div class="legend">{legend}</div>
<div class="tables">{stats}</div>
<footer>{KEYS}</footer>
</main>
<script type="application/json" id="review-data">{data_json}</script>
{audio_data}<script>{script}</script>
</body>
</html>
"""


def speaker_table(
    caption: str, stats: Sequence[SpeakerStats], speech: float, matched: Mapping[str, str]
) -> str:
    """Talk time, share of speech and turns per speaker; ``matched`` names the mapped speaker."""
    other = "reference" if caption.startswith("System") else "system"
    head = (
        f"<tr><th>speaker</th><th>talk time</th><th>share</th><th>turns</th>"
        f"{f'<th>{other}</th>' if matched else ''}</tr>"
    )
    rows = []
    for row in stats:
        share = 100 * row.talk_time / speech if speech > 0 else 0.0
        name = matched.get(row.speaker)
        match = f"<td>{_e(name) if name else '&mdash;'}</td>" if matched else ""
        rows.append(
            f"<tr><td>{_e(row.speaker)}</td><td>{seconds_label(row.talk_time)}</td>"
            f"<td>{share:.0f}%</td><td>{row.num_turns}</td>{match}</tr>"
        )
    return (
        f'<div class="table-box"><h2>{_e(caption)}</h2><table>{head}{"".join(rows)}</table></div>'
    )


def error_table(errors: ErrorRegions) -> str:
    """Missed, false alarm and confusion in seconds and percent of the reference speech."""
    total = errors.components["total"]
    rows = []
    for key, name in (
        ("missed", "missed"),
        ("false_alarm", "false alarm"),
        ("confusion", "confusion"),
    ):
        value = errors.components[key]
        percent = 100 * value / total if total > 0 else 0.0
        rows.append(
            f'<tr><td><i class="swatch" style="background:var(--{key})"></i>{name}</td>'
            f"<td>{value:.2f} s</td><td>{percent:.2f}%</td></tr>"
        )
    rows.append(f"<tr><th>DER</th><th>of {total:.2f} s</th><th>{errors.der:.2f}%</th></tr>")
    return (
        '<div class="table-box"><h2>Errors</h2><table><tr><th>kind</th><th>time</th>'
        f"<th>of speech</th></tr>{''.join(rows)}</table></div>"
    )


def index_html(summaries: Sequence[ReviewSummary], css: str) -> str:
    """The batch index: one row per recording with a link to its page."""
    rows = []
    for s in summaries:
        der = f"{s.der:.2f}%" if s.der is not None else "&mdash;"
        rows.append(
            f'<tr><td><a href="{_e(s.page)}">{_e(s.uri)}</a></td>'
            f"<td>{seconds_label(s.duration)}</td><td>{s.num_speakers}</td><td>{s.num_turns}</td>"
            f"<td>{seconds_label(s.talk_time)}</td><td>{der}</td></tr>"
        )
    scored = [s for s in summaries if s.der is not None]
    note = ""
    if scored:
        collars = sorted({s.collar for s in scored if s.collar is not None})
        note = (
            f'<p class="meta">DER with overlap scored, collar {", ".join(f"{c:g}" for c in collars)}'
            f" s; {len(scored)} of {len(summaries)} recordings have a reference.</p>"
        )
    total = sum(s.duration for s in summaries)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Diarization review</title>
<style>{css}</style>
</head>
<body>
<main>
<h1>Diarization review</h1>
<p class="meta"><b>{len(summaries)}</b> recordings &middot; <b>{seconds_label(total)}</b> of audio</p>
{note}
<div class="table-box"><table id="recordings">
<tr><th>recording</th><th>duration</th><th>speakers</th><th>turns</th><th>talk time</th><th>DER</th></tr>
{"".join(rows)}
</table></div>
</main>
</body>
</html>
"""
