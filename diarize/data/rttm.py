"""RTTM speaker turns: the one place the format is read and written.

A record is ``SPEAKER <uri> <chan> <onset> <dur> <NA> <NA> <speaker> <NA> <NA>`` (NIST RT-09).
Reading accepts comment lines (``#`` or ``;``), blank lines and any whitespace, skips the other
RTTM record types (``SPKR-INFO``, ``LEXEME``, ...) and rejects malformed lines with
``file:line: reason``. Writing emits channel 1, 3 decimals, lines sorted by uri then onset, and
drops turns whose rounded duration is zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from diarize.errors import DiarizeError, located
from diarize.io_utils import atomic_write_text, read_text, walk_files

if TYPE_CHECKING:  # pyannote.core loads matplotlib: 0.45 s off the start of every command
    from pyannote.core import Annotation

# Record types of the RTTM specification; only SPEAKER carries diarization turns, the others are
# skipped so that full NIST references load, and anything else is a typo worth reporting.
RTTM_TYPES = frozenset(
    {
        "SPEAKER",
        "SPKR-INFO",
        "SEGMENT",
        "NOSCORE",
        "NO_RT_METADATA",
        "LEXEME",
        "NON-LEX",
        "NON-SPEECH",
        "FILLER",
        "EDIT",
        "IP",
        "SU",
        "CB",
        "A/P",
    }
)
# 10 fields per the specification; EEND and a few others write 9 (no trailing slat field).
_MIN_FIELDS, _MAX_FIELDS = 9, 10
# Longest time accepted anywhere in RTTM/UEM (about 116 days): larger values are typos (an
# onset of 3.6e8 for 3.6e3) and would make every time-span computation after them explode.
MAX_SECONDS = 1e7


def speaker_name(index: int) -> str:
    """The label of the ``index``-th speaker (by first appearance) in every output we write."""
    return f"speaker_{index}"


@dataclass(frozen=True)
class Turn:
    """One speaker turn, in seconds from the start of the recording ``uri``.

    ``channel`` is the RTTM channel as read (not compared, not written: writers emit 1). Turns
    are keyed by ``uri`` only, so turns of several channels of one uri are scored as one
    recording; ``diarize score`` says so when it happens (md-eval would score each channel).
    """

    uri: str
    start: float
    end: float
    speaker: str
    channel: str = field(default="1", compare=False)

    @property
    def duration(self) -> float:
        return self.end - self.start


def parse_rttm_line(text: str, path: object = "<rttm>", line: int | None = None) -> Turn | None:
    """Parse one RTTM line; ``None`` for blank, comment and non-SPEAKER lines.

    Raises:
        DiarizeError: ``path:line: reason`` for a wrong field count, an unknown record type, or
            onset/duration that are not finite non-negative numbers.
    """
    fields = text.split()
    if not fields or fields[0].startswith(("#", ";")):
        return None
    if not _MIN_FIELDS <= len(fields) <= _MAX_FIELDS:
        raise located(
            path, line, f"expected 10 whitespace-separated fields (9 accepted), got {len(fields)}"
        )
    record_type = fields[0].upper()
    if record_type not in RTTM_TYPES:
        raise located(path, line, f"unknown RTTM record type {fields[0]!r}")
    if record_type != "SPEAKER":
        return None
    onset = parse_time(fields[3], "onset", path, line)
    duration = parse_time(fields[4], "duration", path, line)
    if onset + duration > MAX_SECONDS:
        raise located(
            path, line, f"turn ends at {onset + duration:g} s, after {MAX_SECONDS:g} s (a typo?)"
        )
    return Turn(fields[1], onset, onset + duration, fields[7], channel=fields[2])


def read_rttm(path: str | Path) -> list[Turn]:
    """All SPEAKER turns of one RTTM file (any number of uris), in file order.

    Zero-length turns are kept (md-eval still puts collars around them).

    Raises:
        DiarizeError: the file is missing or unreadable, or a line is malformed.
    """
    path = Path(path)
    turns = []
    for number, text in enumerate(read_text(path, "RTTM file").splitlines(), start=1):
        turn = parse_rttm_line(text, path, number)
        if turn is not None:
            turns.append(turn)
    return turns


def load_rttms(path_or_dir: str | Path) -> dict[str, list[Turn]]:
    """Turns grouped by uri, from one RTTM file or from every ``*.rttm`` under a folder.

    Folders are searched recursively, through symlinked folders, for ``.rttm`` in any letter
    case (``X.RTTM`` too); hidden files are skipped.

    In a folder, a uri found in several files must have the same turns in each (as in the output
    of ``diarize infer``: per-file RTTMs plus ``diarization.rttm``); it is then kept once.

    Raises:
        DiarizeError: missing path, a folder with no ``.rttm`` file, a malformed line, or one uri
            with different turns in two files.
    """
    path = Path(path_or_dir)
    if path.is_dir():
        files = walk_files(path, lambda p: p.suffix.lower() == ".rttm")
        if not files:
            raise DiarizeError(f"{path}: folder has no .rttm file")
    elif path.is_file():
        files = [path]
    else:
        raise DiarizeError(f"{path}: no such RTTM file or folder")
    grouped: dict[str, list[Turn]] = {}
    source: dict[str, Path] = {}
    for file in files:
        for uri, turns in group_by_uri(read_rttm(file)).items():
            if uri not in grouped:
                grouped[uri], source[uri] = turns, file
            elif sorted(turns, key=_sort_key) != sorted(grouped[uri], key=_sort_key):
                raise DiarizeError(
                    f"{file}: uri {uri!r} also in {source[uri]} with different turns"
                )
    return grouped


def group_by_uri(turns: Iterable[Turn]) -> dict[str, list[Turn]]:
    """``{uri: turns}`` keeping the input order within each uri."""
    grouped: dict[str, list[Turn]] = {}
    for turn in turns:
        grouped.setdefault(turn.uri, []).append(turn)
    return grouped


def format_rttm_line(turn: Turn) -> str:
    """The canonical line (channel 1, 3 decimals), without newline."""
    _check_token(turn.uri, "uri")
    _check_token(turn.speaker, "speaker")
    start = round(turn.start, 3)
    duration = round(turn.end, 3) - start
    return f"SPEAKER {turn.uri} 1 {start:.3f} {duration:.3f} <NA> <NA> {turn.speaker} <NA> <NA>"


def write_rttm(path: str | Path, turns: Iterable[Turn]) -> None:
    """Write turns atomically, sorted by uri then onset, dropping zero-length turns.

    Onset and offset are rounded to the millisecond separately, so that abutting turns still
    abut after writing.
    """
    lines = []
    for turn in sorted(turns, key=_sort_key):
        if round(turn.end, 3) - round(turn.start, 3) <= 0:
            continue
        lines.append(format_rttm_line(turn) + "\n")
    atomic_write_text(path, "".join(lines))


def turns_to_annotation(turns: Iterable[Turn], uri: str | None = None) -> Annotation:
    """A pyannote Annotation with one track per turn (zero-length turns are left out).

    Args:
        turns: turns of one recording.
        uri: the annotation's uri; defaults to the turns' uri.

    Raises:
        ValueError: ``uri`` is not given and the turns belong to several uris.
    """
    from pyannote.core import Annotation, Segment

    turns = list(turns)
    uris = {turn.uri for turn in turns}
    if uri is None:
        if len(uris) > 1:
            raise ValueError(f"turns of several uris ({', '.join(sorted(uris))}); pass uri=")
        uri = next(iter(uris), None)
    annotation = Annotation(uri=uri)
    for track, turn in enumerate(turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), track] = turn.speaker
    return annotation


def annotation_to_turns(annotation: Annotation, uri: str) -> list[Turn]:
    """Turns of every track of a pyannote Annotation, labels turned into strings."""
    return [
        Turn(uri=uri, start=float(segment.start), end=float(segment.end), speaker=str(label))
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]


def _sort_key(turn: Turn) -> tuple[str, float, float, str]:
    return (turn.uri, turn.start, turn.end, turn.speaker)


def parse_time(text: str, name: str, path: object, line: int | None) -> float:
    """A finite time in ``[0, MAX_SECONDS]``, or a DiarizeError naming ``path:line``."""
    try:
        value = float(text)
    except ValueError:
        raise located(path, line, f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise located(path, line, f"{name} {text} must be a finite number >= 0")
    if value > MAX_SECONDS:
        raise located(path, line, f"{name} {text} is more than {MAX_SECONDS:g} s (a typo?)")
    return value


def _check_token(value: str, name: str) -> None:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"RTTM {name} {value!r} must be non-empty and have no whitespace")
