"""One recording's review page: a single self-contained HTML file (works offline from file://).

The page embeds its data as JSON (turns, lanes, overlap and error regions, a waveform envelope)
and draws it with the script of :mod:`diarize.review.script`; the audio is referenced by a path
relative to the page, or embedded as Ogg/Vorbis.
"""

from __future__ import annotations

import base64
import html
import json
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pyannote.core import Annotation

from diarize.data.rttm import Turn, annotation_to_turns, atomic_write_text
from diarize.errors import DiarizeError
from diarize.metrics.scoring import DEFAULT_COLLAR
from diarize.review import timeline
from diarize.review.script import SCRIPT
from diarize.review.signal import compressed_audio, seconds_label, waveform_envelope
from diarize.review.style import CSS

# Tableau 10: distinct for most colour-blind readers; more speakers cycle through it
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
INDEX_NAME = "index.html"
SUMMARY_WITHIN = 65536  # characters from the start of a page


@dataclass(frozen=True)
class ReviewSummary:
    """One row of the index page; every page embeds its own, so an index can be rebuilt."""

    uri: str
    page: str  # the page's file name, relative to the index
    duration: float  # seconds
    num_speakers: int  # speakers in the hypothesis
    num_turns: int
    talk_time: float  # seconds where the hypothesis has at least one speaker
    der: float | None = None  # percent, when a reference was given
    collar: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_review_page(
    audio_path: str | Path,
    hyp: Annotation | Sequence[Turn],
    out_dir: str | Path,
    ref: Annotation | Sequence[Turn] | None = None,
    uri: str | None = None,
    embed_audio: bool = False,
    *,
    collar: float = DEFAULT_COLLAR,
    uem: Sequence[tuple[float, float]] | None = None,
) -> Path:
    """Write ``out_dir/<uri>.html``, the review page of one recording, atomically.

    Args:
        audio_path: the recording (any format soundfile reads; the browser must play it unless
            ``embed_audio``).
        hyp: the system's turns, as a pyannote Annotation or RTTM turns.
        ref: reference turns; adds reference lanes, error marks and the DER.
        uri: page name and title; default the Annotation's uri or the audio file's stem.
        embed_audio: embed the audio as Ogg/Vorbis (about 25 kbit/s) instead of linking it.
        collar: seconds on each side of reference boundaries not scored (as ``diarize score``).
        uem: scoring regions ``[(start, end), ...]``; default the extent of all turns.

    Returns:
        The page's path.

    Raises:
        DiarizeError: the audio file is missing or unreadable.
    """
    audio_path, out_dir = Path(audio_path), Path(out_dir)
    if uri is None:
        uri = getattr(hyp, "uri", None) or getattr(ref, "uri", None) or audio_path.stem
    hyp_turns, ref_turns = _turns(hyp, uri), _turns(ref, uri) if ref is not None else None
    envelope = waveform_envelope(audio_path)
    ends = [t.end for t in hyp_turns + (ref_turns or [])]
    duration = max([envelope.duration, *ends])
    errors = (
        timeline.error_regions(ref_turns, hyp_turns, uem, collar) if ref_turns is not None else None
    )
    lanes, turns = _lanes(hyp_turns, ref_turns, errors.mapping if errors else {})
    data = {
        "uri": uri,
        "duration": round(duration, 3),
        "envelope": {"rate": envelope.rate, "data": envelope.to_base64()},
        "lanes": lanes,
        "turns": turns,
        "overlap": {
            "hyp": _rows(timeline.overlap_regions(hyp_turns)),
            "ref": _rows(timeline.overlap_regions(ref_turns)) if ref_turns else [],
        },
        "errors": None,
    }
    if errors is not None:
        data["errors"] = {
            "missed": _rows(errors.missed),
            "false_alarm": _rows(errors.false_alarm),
            "confusion": _rows(errors.confusion),
        }
    page = out_dir / f"{uri}.html"
    summary = ReviewSummary(
        uri=uri,
        page=page.name,
        duration=round(duration, 3),
        num_speakers=len({t.speaker for t in hyp_turns}),
        num_turns=len(hyp_turns),
        talk_time=round(timeline.speech_time(hyp_turns), 3),
        der=round(errors.der, 4) if errors else None,
        collar=collar if errors else None,
    )
    if embed_audio:
        mime, payload = compressed_audio(audio_path)
        source = "", (mime, base64.b64encode(payload).decode("ascii"))
    else:
        source = _relative_url(audio_path, out_dir), None
    body = _render(data, summary, hyp_turns, ref_turns, errors, source)
    atomic_write_text(page, body)
    return page


def read_review_summary(page: str | Path) -> ReviewSummary:
    """The summary a review page embeds (to rebuild an index from pages on disk).

    Raises:
        DiarizeError: the file is not a review page.
    """
    page = Path(page)
    try:
        with page.open(encoding="utf-8") as handle:
            text = handle.read(SUMMARY_WITHIN)  # the summary is in <head>: no need to read more
        start = text.index('<script type="application/json" id="review-summary">')
        start = text.index(">", start) + 1
        values = json.loads(text[start : text.index("</script>", start)])
        return ReviewSummary(**values)
    except (OSError, ValueError, TypeError) as error:
        raise DiarizeError(f"{page}: not a diarize review page ({error})") from None


def _turns(annotation: Annotation | Sequence[Turn], uri: str) -> list[Turn]:
    if isinstance(annotation, Annotation):
        turns = annotation_to_turns(annotation, uri)
    else:
        turns = list(annotation)
    return sorted((t for t in turns if t.end > t.start), key=lambda t: (t.start, t.end))


def _lanes(
    hyp_turns: list[Turn], ref_turns: list[Turn] | None, mapping: dict[str, str]
) -> tuple[list[dict], list[list]]:
    """Lanes (system speakers in order of arrival, then reference speakers next to their match)
    and turns ``[start, end, lane]`` sorted by start."""
    hyp_names = list(dict.fromkeys(t.speaker for t in hyp_turns))
    colors = {name: PALETTE[k % len(PALETTE)] for k, name in enumerate(hyp_names)}
    lanes = [{"group": "hyp", "label": name, "color": colors[name]} for name in hyp_names]
    ref_names = list(dict.fromkeys(t.speaker for t in ref_turns or []))
    position = {name: k for k, name in enumerate(hyp_names)}
    ref_names.sort(key=lambda r: position.get(mapping.get(r), len(hyp_names)))
    extra = len(hyp_names)
    for name in ref_names:
        if name in mapping:
            color = colors[mapping[name]]
        else:  # a reference speaker the system never found gets a colour of its own
            color, extra = PALETTE[extra % len(PALETTE)], extra + 1
        lanes.append({"group": "ref", "label": name, "color": color})
    index = {("hyp", lane["label"]): k for k, lane in enumerate(lanes)}
    index |= {("ref", lane["label"]): k for k, lane in enumerate(lanes) if lane["group"] == "ref"}
    turns = [[round(t.start, 3), round(t.end, 3), index["hyp", t.speaker]] for t in hyp_turns]
    turns += [
        [round(t.start, 3), round(t.end, 3), index["ref", t.speaker]] for t in ref_turns or []
    ]
    turns.sort(key=lambda row: (row[0], row[1]))
    return lanes, turns


def _rows(array: Any) -> list[list[float]]:
    return [[round(float(v), 3) for v in row] for row in array]


def _relative_url(audio_path: Path, out_dir: Path) -> str:
    try:
        relative = os.path.relpath(audio_path.resolve(), out_dir.resolve())
    except ValueError:  # another drive (Windows): no relative path exists
        return audio_path.resolve().as_uri()
    return urllib.parse.quote(Path(relative).as_posix())


def _json(value: Any) -> str:
    # "<" escaped so that no "</script>" or "<!--" inside labels can end the script element
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def _render(
    data: dict,
    summary: ReviewSummary,
    hyp_turns: list[Turn],
    ref_turns: list[Turn] | None,
    errors: timeline.ErrorRegions | None,
    source: tuple[str, tuple[str, str] | None],
) -> str:
    from diarize.review.html import page_html

    return page_html(
        title=summary.uri,
        meta=_meta(summary, errors),
        stats=_stats_html(hyp_turns, ref_turns, errors),
        legend=_legend(errors is not None),
        audio_src=source[0],
        embedded=source[1],
        data_json=_json(data),
        summary_json=_json(summary.to_dict()),
        css=CSS,
        script=SCRIPT,
    )


def _meta(summary: ReviewSummary, errors: timeline.ErrorRegions | None) -> str:
    parts = [
        f"<b>{seconds_label(summary.duration)}</b> long",
        f"<b>{summary.num_speakers}</b> speakers found",
        f"<b>{summary.num_turns}</b> turns",
        f"speech <b>{seconds_label(summary.talk_time)}</b>",
    ]
    if errors is not None:
        parts.append(
            f'<span class="der">DER {errors.der:.2f}%</span> (collar {errors.collar:g} s, '
            "overlap scored)"
        )
    return " &middot; ".join(parts)


def _legend(with_errors: bool) -> str:
    items = ['<span><i class="swatch" style="background:var(--overlap)"></i>overlap</span>']
    if with_errors:
        for key, name in (
            ("missed", "missed speech"),
            ("false_alarm", "false alarm"),
            ("confusion", "confusion"),
        ):
            items.append(
                f'<span><i class="swatch" style="background:var(--{key})"></i>{name}</span>'
            )
    items.append('<span><i class="swatch" style="background:var(--cursor)"></i>playback</span>')
    return "".join(items)


def _stats_html(
    hyp_turns: list[Turn], ref_turns: list[Turn] | None, errors: timeline.ErrorRegions | None
) -> str:
    from diarize.review.html import error_table, speaker_table

    mapping = errors.mapping if errors else {}
    hyp_to_ref = {h: r for r, h in mapping.items()}
    speech = timeline.speech_time(hyp_turns)
    tables = [
        speaker_table("System speakers", timeline.speaker_stats(hyp_turns), speech, hyp_to_ref)
    ]
    if ref_turns is not None:
        ref_speech = timeline.speech_time(ref_turns)
        tables.append(
            speaker_table(
                "Reference speakers", timeline.speaker_stats(ref_turns), ref_speech, mapping
            )
        )
    if errors is not None:
        tables.append(error_table(errors))
    return "".join(tables)


def escape(text: object) -> str:
    """HTML-escaped text (quotes included)."""
    return html.escape(str(text), quote=True)
