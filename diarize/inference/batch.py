"""Batch diarization into a folder: what ``diarize infer`` does, as a library function.

    >>> from diarize.inference import Diarizer
    >>> summary = Diarizer.from_pretrained().diarize_folder(["calls/"], "rttm/", json=True)
    >>> summary.ok, [f.uri for f in summary.failed]

A run, in order:

1. checks every option (the speaker hints once, against the model; batch size; devices) and
   that the output folder can be written, before any recording is skipped: invalid options
   fail even when every file is already done;
2. expands the inputs (files, folders, manifests: :mod:`diarize.inference.inputs`);
3. skips recordings whose outputs all exist (unless ``overwrite``);
4. diarizes the rest, in this process or in ``devices`` x ``num_nodes`` worker processes
   (:mod:`diarize.inference.distributed`); each recording's files are written atomically as
   soon as it is done, RTTM last, so an interrupted run resumes where it stopped; a broken
   recording fails alone;
5. rebuilds ``DIR/diarization.rttm`` from every finished recording, skipped ones included, and
   scores the recordings whose manifest line gives a reference (DER, collar 0.25 and 0).

Per-recording post-steps of the caller (e.g. HTML review pages) plug in as :class:`FileStep`;
steps over the whole batch (an index page) as ``after_batch`` callables.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from diarize.data.manifest import ManifestEntry
from diarize.errors import DiarizeError
from diarize.inference.diarizer import Diarization, Diarizer
from diarize.inference.inputs import expand_inputs, reference_turns, scoring_uem
from diarize.inference.outputs import (
    expected_outputs,
    rttm_path,
    write_combined_rttm,
    write_outputs,
)
from diarize.io_utils import check_writable_dir, remove_stale_temp_files

SCORING_COLLARS = (0.25, 0.0)


def _no_outputs(out_dir: Path, uri: str) -> list[Path]:
    return []


@dataclass(frozen=True)
class FileStep:
    """A caller's post-step, run for each diarized recording after its own files are written.

    Attributes:
        run: ``run(entry, result, out_dir)``; a :class:`DiarizeError` it raises fails that
            recording only.
        outputs: ``outputs(out_dir, uri)`` -> the files ``run`` writes; a recording missing one
            of them is not skipped on a re-run.

    With ``devices > 1`` both travel to the worker processes by pickle: use module-level
    functions (or ``functools.partial`` of them), not lambdas.
    """

    run: Callable[[ManifestEntry, Diarization, Path], None]
    outputs: Callable[[Path, str], list[Path]] = _no_outputs


@dataclass(frozen=True)
class BatchOptions:
    """What a batch run asks for, checked once by :func:`check_options`."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    oracle_num_speakers: bool = False  # each manifest line's num_speakers, where it has one
    overwrite: bool = False
    json: bool = False
    plot: bool = False
    batch_size: int = 1
    progress: bool = False
    error_prefix: str | None = None  # print each failure at once as "<prefix>error: <message>"
    steps: tuple[FileStep, ...] = ()

    @property
    def hints(self) -> dict[str, int | None]:
        return dict(
            num_speakers=self.num_speakers,
            min_speakers=self.min_speakers,
            max_speakers=self.max_speakers,
        )


@dataclass(frozen=True)
class FileOutcome:
    """What became of one recording: ``diarized``, ``skipped`` (already done) or ``failed``."""

    uri: str
    path: str
    status: str
    duration: float = 0.0  # seconds diarized in this run
    error: str = ""


@dataclass(frozen=True)
class BatchSummary:
    """The result of :func:`diarize_folder`, over all worker processes.

    ``der`` maps each collar to the DER (percent) over the ``num_scored`` recordings that have a
    reference; empty when none has. ``is_main`` is false in the worker processes of a
    distributed run other than rank 0 (their summary has no DER and they wrote no combined RTTM).
    """

    out_dir: Path
    files: tuple[FileOutcome, ...]
    combined_rttm: Path | None
    elapsed: float
    workers: int = 1
    der: dict[float, float] = field(default_factory=dict)
    num_scored: int = 0
    score_error: str = ""  # why the DER could not be computed (a bad reference file)
    is_main: bool = True

    def _with(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def diarized(self) -> list[FileOutcome]:
        return self._with("diarized")

    @property
    def skipped(self) -> list[FileOutcome]:
        return self._with("skipped")

    @property
    def failed(self) -> list[FileOutcome]:
        return self._with("failed")

    @property
    def ok(self) -> bool:
        """True when no recording failed and the scoring asked for worked."""
        return not self.failed and not self.score_error

    @property
    def hours(self) -> float:
        """Hours of audio diarized in this run (skipped recordings not counted)."""
        return sum(f.duration for f in self.diarized) / 3600

    def report(self) -> list[str]:
        """The summary lines ``diarize infer`` prints."""
        done = len(self.files) - len(self.failed)
        lines = [f"Wrote {done} RTTM files to {self.out_dir} ({self.combined_rttm})"]
        rtf = f", RTF {self.elapsed / (self.hours * 3600):.4f}" if self.hours > 0 else ""
        workers = f" on {self.workers} processes" if self.workers > 1 else ""
        lines.append(
            f"{len(self.diarized)} diarized ({self.hours:.3f} h of audio in {self.elapsed:.1f} s"
            f"{rtf}{workers}), {len(self.skipped)} skipped (already done), "
            f"{len(self.failed)} failed"
        )
        if self.der:
            parts = ", ".join(f"{der:.2f}% (collar {collar:g})" for collar, der in self.der.items())
            lines.append(f"DER over {self.num_scored} recordings with reference: {parts}")
        if self.score_error:
            lines.append(f"DER not computed: {self.score_error}")
        return lines


def check_options(
    diarizer: Diarizer, devices: int = 1, num_nodes: int = 1, **options
) -> BatchOptions:
    """:class:`BatchOptions` from keyword arguments, every value checked (hints against the
    model), before any work is done.

    Raises:
        DiarizeError: an invalid or inconsistent value.
    """
    options = BatchOptions(**options)
    diarizer.check_hints(**options.hints)
    for name, value in (
        ("batch_size", options.batch_size),
        ("devices", devices),
        ("num_nodes", num_nodes),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DiarizeError(f"{name} must be an integer >= 1, got {value!r}")
    return options


def diarize_folder(
    diarizer: Diarizer,
    inputs: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    *,
    devices: int = 1,
    num_nodes: int = 1,
    start_method: str = "spawn",
    after_batch: Sequence[Callable[[BatchSummary], None]] = (),
    **options,
) -> BatchSummary:
    """Diarize files, folders (recursive) and manifests into ``out_dir`` (see module doc).

    Args:
        diarizer: the model and its settings.
        inputs: one or several audio files, folders or manifest ``.json`` files.
        out_dir: where ``<uri>.rttm`` (and ``.json``/``.png``) and ``diarization.rttm`` go.
        devices: worker processes per machine (GPUs, or CPU processes sharing the cores).
        num_nodes: machines (each runs this same call, e.g. under ``srun``/``torchrun``).
        start_method: how workers start when nothing launched them: ``"spawn"`` runs only this
            function in them (scripts need an ``if __name__ == "__main__":`` guard); ``"popen"``
            re-runs the program's command line (what ``diarize infer`` uses).
        after_batch: callables given the summary on the main process at the end.
        **options: the fields of :class:`BatchOptions`: ``num_speakers``, ``min_speakers``,
            ``max_speakers``, ``oracle_num_speakers``, ``overwrite``, ``json``, ``plot``,
            ``batch_size``, ``progress``, ``error_prefix`` and ``steps`` (per-recording
            :class:`FileStep` post-steps).

    Returns:
        A :class:`BatchSummary`; ``summary.ok`` is false when any recording failed.

    Raises:
        DiarizeError: invalid options, inputs or output folder (nothing is diarized then).
    """
    from diarize.inference import distributed

    started = time.perf_counter()
    options = check_options(diarizer, devices, num_nodes, **options)
    if start_method not in ("spawn", "popen"):
        raise DiarizeError(f"start_method must be 'spawn' or 'popen', got {start_method!r}")
    devices, num_nodes = distributed.resolve_world(devices, num_nodes)
    out_dir = check_writable_dir(out_dir)
    items = expand_inputs([inputs] if isinstance(inputs, (str, Path)) else inputs)
    workers = devices * num_nodes
    if (
        workers > 1
        and not distributed.launched_externally()
        and not _has_work(items, out_dir, options)
    ):
        workers = 1  # nothing to diarize: starting worker processes would only cost time
    if workers > 1:
        outcomes, is_main = distributed.run(
            diarizer, items, out_dir, options, devices, num_nodes, start_method
        )
    else:
        remove_stale_temp_files(out_dir)
        todo, outcomes = pending_items(items, out_dir, options)
        outcomes += diarize_items(diarizer, todo, out_dir, options)
        is_main = True
    summary = finish(items, outcomes, out_dir, started, workers, is_main)
    if is_main:
        for step in after_batch:
            step(summary)
    return summary


def pending_items(
    items: Sequence[ManifestEntry], out_dir: Path, options: BatchOptions
) -> tuple[list[ManifestEntry], list[FileOutcome]]:
    """The recordings to diarize, and an outcome ``skipped`` for each one already done."""
    todo, skipped = [], []
    for item in items:
        if options.overwrite or not is_done(out_dir, item.uri, options):
            todo.append(item)
        else:
            skipped.append(FileOutcome(item.uri, str(item.audio_filepath), "skipped"))
    return todo, skipped


def _has_work(items: Sequence[ManifestEntry], out_dir: Path, options: BatchOptions) -> bool:
    return any(options.overwrite or not is_done(out_dir, item.uri, options) for item in items)


def is_done(out_dir: Path, uri: str, options: BatchOptions) -> bool:
    """True when every output asked for (the steps' too) already exists for ``uri``."""
    paths = expected_outputs(out_dir, uri, options.json, options.plot)
    for step in options.steps:
        paths += step.outputs(out_dir, uri)
    return all(path.is_file() for path in paths)


def diarize_items(
    diarizer: Diarizer,
    items: Sequence[ManifestEntry],
    out_dir: Path,
    options: BatchOptions,
    progress_label: str | None = None,
) -> list[FileOutcome]:
    """Diarize ``items`` and write each one's outputs; a failure is recorded, not raised."""
    from tqdm import tqdm

    model = str(diarizer.model_path) if diarizer.model_path else None
    outcomes = []
    hours = 0.0
    bar = tqdm(
        total=len(items),
        unit="file",
        desc=progress_label,
        disable=not options.progress or not items,
        dynamic_ncols=True,
        file=sys.stderr,
    )
    try:
        results = diarizer.diarize_items(
            items, options.batch_size, options.oracle_num_speakers, **options.hints
        )
        for item, result in results:
            try:
                if isinstance(result, DiarizeError):
                    raise result
                _write(item, result, out_dir, options, model)
                outcome = FileOutcome(
                    item.uri, str(item.audio_filepath), "diarized", result.duration
                )
                hours += result.duration / 3600
            except DiarizeError as error:
                outcome = _failure(item, error, options, bar)
            outcomes.append(outcome)
            bar.set_postfix_str(f"{hours:.2f} h audio", refresh=False)
            bar.update(1)
    finally:
        bar.close()
    return outcomes


def _write(
    item: ManifestEntry,
    result: Diarization,
    out_dir: Path,
    options: BatchOptions,
    model: str | None,
) -> None:
    reference = reference_turns(item) if options.plot else None
    write_outputs(out_dir, result, options.json, options.plot, reference, {"model": model})
    # a step that fails leaves its output missing, so the recording is redone on a re-run
    for step in options.steps:
        step.run(item, result, out_dir)


def _failure(item: ManifestEntry, error: Exception, options: BatchOptions, bar) -> FileOutcome:
    path = str(item.audio_filepath)
    message = str(error) if str(error).startswith(path) else f"{path}: {error}"
    if options.error_prefix is not None:
        bar.write(f"{options.error_prefix}error: {message}", file=sys.stderr)
    return FileOutcome(item.uri, path, "failed", error=message)


def finish(
    items: Sequence[ManifestEntry],
    outcomes: Iterable[FileOutcome],
    out_dir: Path,
    started: float,
    workers: int = 1,
    is_main: bool = True,
) -> BatchSummary:
    """Order the outcomes as the inputs, rebuild the combined RTTM and score (main process)."""
    by_uri = {outcome.uri: outcome for outcome in outcomes}
    files = tuple(by_uri[item.uri] for item in items if item.uri in by_uri)
    if not is_main:
        elapsed = time.perf_counter() - started
        return BatchSummary(out_dir, files, None, elapsed, workers, is_main=False)
    finished = [
        item
        for item in items
        if by_uri.get(item.uri) is not None
        and by_uri[item.uri].status != "failed"
        and rttm_path(out_dir, item.uri).is_file()
    ]
    combined = write_combined_rttm(out_dir, [item.uri for item in finished])
    scored = [item for item in finished if item.rttm_filepath is not None]
    der, score_error = {}, ""
    try:
        der = score_outputs(scored, out_dir) if scored else {}
    except DiarizeError as error:
        score_error = str(error)
    elapsed = time.perf_counter() - started
    return BatchSummary(out_dir, files, combined, elapsed, workers, der, len(scored), score_error)


def score_outputs(items: Sequence[ManifestEntry], out_dir: Path) -> dict[float, float]:
    """DER (percent) of the written RTTMs against the manifest references, per collar."""
    from diarize.data.rttm import read_rttm
    from diarize.metrics.scoring import score

    reference, hypothesis, uem = {}, {}, {}
    for item in items:
        reference[item.uri] = reference_turns(item)
        hypothesis[item.uri] = read_rttm(rttm_path(out_dir, item.uri))
        uem[item.uri] = scoring_uem(item)
    return {
        collar: float(score(reference, hypothesis, uem=uem, collar=collar).overall["der"])
        for collar in SCORING_COLLARS
    }
