"""Render session plans into audio, RTTM and a NeMo diarization manifest.

Each session is rendered from its plan alone (plus the run's seed), in any process and order, so
rendering in parallel gives byte-identical files. Output layout under ``out_dir``::

    manifest.json  plan.json  stats.json  audio/<uri>.wav  rttm/<uri>.rttm
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diarize.audio.channel import telephone
from diarize.audio.io import SAMPLE_RATE, load_audio, write_audio
from diarize.data.manifest import ManifestEntry, write_manifest
from diarize.data.rttm import Turn, read_rttm, write_rttm
from diarize.errors import DiarizeError
from diarize.io_utils import atomic_write_text, check_writable_dir
from diarize.simulate import augment
from diarize.simulate.plan import RENDER_STREAM, session_rng
from diarize.simulate.schema import NoisePlan, SessionPlan, SimulationPlan, SourcePiece, TurnPlan
from diarize.simulate.sources import parallel_map
from diarize.simulate.stats import session_stats, summarize

REFERENCE_DB = -25.0  # every source piece is brought to this speech RMS before its gain


def render_session(
    session: SessionPlan,
    seed: int,
    out_dir: str | Path,
    band: Sequence[float] = (300.0, 3400.0),
    mu_law: bool = True,
) -> dict:
    """Render one planned session: write its audio and RTTM, return its measured statistics.

    The statistics are measured on the RTTM as written (what a scorer will see).
    """
    out_dir = Path(out_dir)
    uri = session.uri
    samples = render_audio(session, seed, band=band, mu_law=mu_law)
    audio_path = out_dir / "audio" / f"{uri}.wav"
    rttm_path = out_dir / "rttm" / f"{uri}.rttm"
    write_audio(audio_path, samples, SAMPLE_RATE)
    write_rttm(rttm_path, session_turns(session))
    written = read_rttm(rttm_path)
    stats = session_stats(
        [(t.start, t.end, t.speaker) for t in written], len(samples) / SAMPLE_RATE
    )
    return {"uri": uri, **stats}


def session_turns(session: SessionPlan) -> list[Turn]:
    """The RTTM turns of a planned session."""
    return [
        Turn(uri=session.uri, start=t.start, end=t.end, speaker=t.speaker) for t in session.turns
    ]


def render_audio(
    session: SessionPlan, seed: int, band: Sequence[float] = (300.0, 3400.0), mu_law: bool = True
) -> np.ndarray:
    """The session's 16 kHz mono signal, float32 in [-1, 1].

    Shape:
        (round(duration * 16000),)
    """
    if session.augment is None:
        raise ValueError(f"session {session.uri} has no acoustics planned (augment is None)")
    rng = session_rng(seed, session.index, RENDER_STREAM)
    num_samples = int(round(session.duration * SAMPLE_RATE))
    plan = session.augment
    tracks = {speaker: np.zeros(num_samples, dtype=np.float32) for speaker in session.speakers}
    for segment in session.segments:
        _add_piece(tracks[segment.speaker], segment, segment.gain_db, segment.speech)
    if plan.reverb:
        for speaker in session.speakers:  # the plan's order fixes the order of draws
            room = plan.reverb[speaker]
            rir = augment.synthetic_rir(rng, room.rt60, room.drr_db)
            tracks[speaker] = augment.reverberate(tracks[speaker], rir)
    mix = np.sum(list(tracks.values()), axis=0, dtype=np.float32)
    del tracks
    mask = speech_mask(session.turns, num_samples)
    noise = plan.noise
    if noise.kind == "babble":
        bed = np.zeros(int(round(min(session.duration, 20.0) * SAMPLE_RATE)), dtype=np.float32)
        for piece in noise.babble or ():
            _add_piece(bed, piece, 0.0)
        # faded ends: no click where the tiled bed wraps around
        background = augment.tile(augment.fade(bed, seconds=0.05), num_samples)
    else:
        background = augment.colored_noise(rng, num_samples, noise.kind)
    mix = augment.add_at_snr(mix, background, noise.snr_db, mask)
    if plan.telephone:
        mix = telephone(mix, band=tuple(band), mu_law=mu_law)
    return augment.set_level(mix, plan.level_db, mask)


def speech_mask(turns: Sequence[TurnPlan], num_samples: int) -> np.ndarray:
    """True where any turn is active (sample resolution)."""
    delta = np.zeros(num_samples + 1, dtype=np.int32)
    for turn in turns:
        first = min(num_samples, int(round(turn.start * SAMPLE_RATE)))
        last = min(num_samples, int(round(turn.end * SAMPLE_RATE)))
        delta[first] += 1
        delta[last] -= 1
    return np.cumsum(delta[:-1]) > 0


def _add_piece(
    track: np.ndarray,
    piece: SourcePiece,
    gain_db: float,
    speech: Sequence[tuple[float, float]] = (),
) -> None:
    """Load a planned source piece, level it, fade its edges and add it into ``track`` in place.

    ``speech`` (session times) is where the piece is leveled; without it, on the whole piece.
    """
    samples = load_audio(piece.audio_filepath, offset=piece.offset, duration=piece.duration)
    start = int(round(piece.start * SAMPLE_RATE))
    if start >= len(track) or samples.size == 0:
        return
    # level on the speech inside the piece, so pauses and leading silence do not skew it
    local = np.zeros(len(samples), dtype=bool)
    for s, e in speech:
        first = max(0, int(round((s - piece.start) * SAMPLE_RATE)))
        local[first : int(round((e - piece.start) * SAMPLE_RATE))] = True
    level = augment.rms_db(samples, local)
    if level < -120.0:
        return
    samples = augment.fade(samples) * augment.db_to_gain(REFERENCE_DB + gain_db - level)
    end = min(len(track), start + len(samples))
    track[start:end] += samples[: end - start]


def render_plan(
    plan: SimulationPlan,
    out_dir: str | Path,
    num_workers: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Render every session of a plan and write manifest.json and stats.json.

    Args:
        plan: the run's plan (see :func:`diarize.simulate.plan.make_plan`).
        out_dir: output folder.
        num_workers: processes (0: in this process).
        progress: show a progress bar.

    Returns:
        The summary written to stats.json.
    """
    out_dir = Path(out_dir)
    telephone = plan.config["augment"]["telephone"]
    jobs = [
        (session, plan.seed, str(out_dir), tuple(telephone["band"]), bool(telephone["mu_law"]))
        for session in plan.sessions
    ]
    results = parallel_map(
        _render_job, jobs, num_workers, progress, "rendering sessions", "session", chunksize=1
    )
    by_uri = {item["uri"]: item for item in results}
    entries = [
        ManifestEntry(
            audio_filepath=out_dir / "audio" / f"{s.uri}.wav",
            offset=0.0,
            duration=by_uri[s.uri]["duration"],
            rttm_filepath=out_dir / "rttm" / f"{s.uri}.rttm",
            num_speakers=s.num_speakers,
            uniq_id=s.uri,
        )
        for s in plan.sessions
    ]
    write_manifest(out_dir / "manifest.json", entries)
    remove_stale_sessions(out_dir, {s.uri for s in plan.sessions})
    summary = summarize(results, _targets(plan), augment_counts(plan.sessions))
    write_json(out_dir / "stats.json", {"summary": summary, "sessions": results})
    return summary


def remove_stale_sessions(out_dir: Path, uris: set[str]) -> list[Path]:
    """Delete ``audio/*.wav`` and ``rttm/*.rttm`` of sessions that are not in the plan.

    A smaller or re-prefixed re-run into the same ``out_dir`` would otherwise leave a folder whose
    files disagree with its manifest (and a glob over rttm/ would score them). Returns them.
    """
    stale = [
        path
        for folder, suffix in (("audio", ".wav"), ("rttm", ".rttm"))
        for path in sorted((out_dir / folder).glob(f"*{suffix}"))
        if path.stem not in uris
    ]
    for path in stale:
        path.unlink()
    if stale:
        print(f"diarize simulate: removed {len(stale)} files of earlier sessions from {out_dir}")
    return stale


def augment_counts(sessions: Sequence[SessionPlan]) -> dict[str, Counter]:
    """How many sessions got each augmentation (for the summary)."""
    acoustics = [s.augment for s in sessions if s.augment is not None]
    noise = Counter(_noise_kind(a.noise) for a in acoustics)
    reverb = Counter("yes" if a.reverb else "no" for a in acoustics)
    phone = Counter("yes" if a.telephone else "no" for a in acoustics)
    kinds = Counter(seg.kind for s in sessions for seg in s.segments)
    return {"noise": noise, "reverb": reverb, "telephone": phone, "segments": kinds}


def write_json(path: str | Path, data: dict[str, Any], list_key: str = "sessions") -> None:
    """Write JSON atomically, keys in insertion order, one ``list_key`` item per line.

    One session per line keeps large plans small, greppable and diffable.
    """
    head = {key: value for key, value in data.items() if key != list_key}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + f', "{list_key}": [']
    items = [json.dumps(item, ensure_ascii=False) for item in data.get(list_key, [])]
    lines.append(",\n".join(items))
    lines.append("]}")
    atomic_write_text(path, "\n".join(lines) + "\n")


def _targets(plan: SimulationPlan) -> dict[str, float]:
    config = plan.config
    return {"overlap_ratio": config["overlap_ratio"], "silence_ratio": config["silence_ratio"]}


def _render_job(job: tuple) -> dict:
    session, seed, out_dir, band, mu_law = job
    return render_session(session, seed, out_dir, band=band, mu_law=mu_law)


def simulate(config: Any, progress: bool = True, plan_only: bool = False) -> dict[str, Any]:
    """The whole ``diarize simulate`` run: sources -> plan.json -> audio, RTTM, manifest, stats.

    Args:
        config: a validated config (see :func:`diarize.simulate.config.load_config`).
        progress: show progress bars.
        plan_only: stop after plan.json; stats.json then holds the planned statistics.

    Returns:
        The summary (also in stats.json).
    """
    from diarize.simulate.plan import make_plan
    from diarize.simulate.sources import VadParams, load_sources

    out_dir = Path(config.out_dir)
    try:
        check_writable_dir(out_dir)  # before the sources are scanned: fail in seconds
    except DiarizeError as error:
        raise DiarizeError(f"out_dir {error}") from None
    vad = VadParams(**{key: float(value) for key, value in config.vad.items()})
    sources = load_sources(config.source_manifest, vad, config.num_workers, progress)
    plan = make_plan(sources, config)
    write_json(out_dir / "plan.json", plan.to_json())
    if not plan_only:
        return render_plan(plan, out_dir, config.num_workers, progress)
    planned = [{"uri": s.uri, **s.stats} for s in plan.sessions]
    summary = summarize(planned, _targets(plan), augment_counts(plan.sessions))
    write_json(
        out_dir / "stats.json", {"summary": summary, "sessions": planned, "planned_only": True}
    )
    return summary


def _noise_kind(noise: NoisePlan) -> str:
    return "floor only" if noise.floor else noise.kind
