"""The batch index page: one row per recording, linking to its review page."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from diarize.data.rttm import atomic_write_text
from diarize.errors import DiarizeError
from diarize.review.html import index_html
from diarize.review.page import INDEX_NAME, ReviewSummary, read_review_summary
from diarize.review.style import CSS


def write_review_index(rows: Iterable[ReviewSummary | str | Path], out_dir: str | Path) -> Path:
    """Write ``out_dir/index.html`` atomically, one row per recording, sorted by uri.

    Args:
        rows: page paths as returned by :func:`write_review_page` (their summaries are read back
            from the pages, so pages written by an earlier run can be listed too) or summaries.
        out_dir: the folder holding the pages.

    Returns:
        The index's path.

    Raises:
        DiarizeError: a path is not a review page.
    """
    summaries = {}
    for row in rows:
        summary = row if isinstance(row, ReviewSummary) else read_review_summary(row)
        summaries[summary.uri] = summary
    index = Path(out_dir) / INDEX_NAME
    atomic_write_text(index, index_html([summaries[uri] for uri in sorted(summaries)], CSS))
    return index


def review_pages(out_dir: str | Path) -> list[Path]:
    """The review pages already in a folder (other ``.html`` files are left out)."""
    pages = []
    for path in sorted(Path(out_dir).glob("*.html")):
        if path.name == INDEX_NAME:
            continue
        try:
            read_review_summary(path)
        except DiarizeError:
            continue
        pages.append(path)
    return pages
