"""Self-contained HTML review pages: see and hear a diarization, with or without a reference.

One call per recording and one for the batch::

    pages = [write_review_page(audio, annotation, "out/", ref=reference) for ...]
    write_review_index(pages, "out/")
"""

from diarize.review.index import review_pages, write_review_index
from diarize.review.page import ReviewSummary, read_review_summary, write_review_page

__all__ = [
    "ReviewSummary",
    "read_review_summary",
    "review_pages",
    "write_review_index",
    "write_review_page",
]
