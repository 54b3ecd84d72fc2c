"""Review pages from a batch run: what ``diarize infer --html`` adds to ``diarize_folder``.

    >>> from diarize.review.batch import review_options
    >>> diarizer.diarize_folder("calls/", "out/", **review_options(embed_audio=True))

writes ``out/<uri>.html`` as soon as each recording's RTTM is written (a recording whose page is
missing is not skipped on a re-run) and ``out/index.html`` at the end, listing every page in the
folder, also those of earlier (resumed) runs.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from diarize.data.manifest import ManifestEntry
from diarize.inference.batch import BatchSummary, FileStep
from diarize.inference.diarizer import Diarization
from diarize.inference.inputs import reference_turns, scoring_uem
from diarize.review.index import review_pages, write_review_index
from diarize.review.page import write_review_page


def write_page(
    entry: ManifestEntry, result: Diarization, out_dir: Path, embed_audio: bool = False
) -> None:
    """The review page of one diarized recording, with its manifest reference when it has one."""
    ref = reference_turns(entry)
    write_review_page(
        entry.audio_filepath,
        result.turns(),
        out_dir,
        ref=ref,
        uri=result.uri,
        embed_audio=embed_audio,
        uem=scoring_uem(entry) if ref is not None else None,
    )


def page_path(out_dir: Path, uri: str) -> list[Path]:
    """The file :func:`write_page` writes for ``uri``."""
    return [Path(out_dir) / f"{uri}.html"]


def write_index(summary: BatchSummary) -> None:
    """``index.html`` over every review page in the batch's folder."""
    write_review_index(review_pages(summary.out_dir), summary.out_dir)


def review_step(embed_audio: bool = False) -> FileStep:
    """The per-recording step that writes ``<uri>.html`` (picklable, for worker processes)."""
    return FileStep(partial(write_page, embed_audio=embed_audio), page_path)


def review_options(html: bool = True, embed_audio: bool = False) -> dict[str, Any]:
    """``steps`` and ``after_batch`` for ``diarize_folder``: pages per recording and the index.

    Empty when neither ``html`` nor ``embed_audio`` is asked for (``embed_audio`` implies pages).
    """
    if not (html or embed_audio):
        return {}
    return {"steps": (review_step(embed_audio),), "after_batch": [write_index]}
