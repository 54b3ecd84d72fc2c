"""UEM scoring regions: ``<uri> <channel> <start> <end>`` (absolute times, several lines per uri).

The one place the format is read and written. As in md-eval-22, a region must have end > start
and the regions of one uri must not overlap (touching is fine).
"""

from __future__ import annotations

from pathlib import Path

from diarize.data.rttm import parse_time
from diarize.errors import located
from diarize.io_utils import atomic_write_text, read_text

Regions = list[tuple[float, float]]


def read_uem(path: str | Path) -> dict[str, Regions]:
    """``{uri: [(start, end), ...]}`` with each uri's regions sorted by start.

    Comment lines (``#``, ``;``), blank lines, any whitespace and a UTF-8 byte-order mark are
    accepted; the channel is ignored. Times are bounded like RTTM times (``MAX_SECONDS``).

    Raises:
        DiarizeError: ``file:line: reason`` for a wrong field count, times that are not finite
            non-negative numbers, end <= start, or overlapping regions of one uri.
    """
    path = Path(path)
    lines = read_text(path, "UEM file").splitlines()
    found: dict[str, list[tuple[float, float, int]]] = {}
    for number, text in enumerate(lines, start=1):
        fields = text.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        if len(fields) != 4:
            raise located(
                path,
                number,
                f"expected 4 fields '<uri> <channel> <start> <end>', got {len(fields)}",
            )
        start = parse_time(fields[2], "start", path, number)
        end = parse_time(fields[3], "end", path, number)
        if end <= start:
            raise located(path, number, f"end {fields[3]} must be greater than start {fields[2]}")
        found.setdefault(fields[0], []).append((start, end, number))
    uem: dict[str, Regions] = {}
    for uri, regions in found.items():
        regions.sort()
        for (_, previous_end, _), (start, _, number) in zip(regions, regions[1:], strict=False):
            if start < previous_end:
                raise located(path, number, f"region of {uri!r} overlaps the one before it")
        uem[uri] = [(start, end) for start, end, _ in regions]
    return uem


def write_uem(path: str | Path, uem: dict[str, Regions]) -> None:
    """Write regions atomically (channel 1, 3 decimals), sorted by uri then start.

    Raises:
        ValueError: a region with end <= start, or a uri containing whitespace.
    """
    lines = []
    for uri in sorted(uem):
        if not uri or any(c.isspace() for c in uri):
            raise ValueError(f"UEM uri {uri!r} must be non-empty and have no whitespace")
        for start, end in sorted(uem[uri]):
            if end <= start:
                raise ValueError(f"UEM region ({start}, {end}) of {uri!r} has end <= start")
            lines.append(f"{uri} 1 {start:.3f} {end:.3f}\n")
    atomic_write_text(path, "".join(lines))
