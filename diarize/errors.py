"""The one exception type users see as a one-line error (no traceback)."""


class DiarizeError(Exception):
    """Bad input or a failed request, worded for the user.

    The message names the file (and line, where there is one) and what is wrong,
    e.g. ``ref.rttm:12: expected 10 fields, got 8``.
    """


def located(path: object, line: int | None, reason: str) -> DiarizeError:
    """Build a :class:`DiarizeError` whose message reads ``path:line: reason``."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    return DiarizeError(f"{where}: {reason}")
