"""Long-form evaluation: global speaker identity on long files, and streaming against offline.

Builds a simulated long-form test set from single-speaker utterances of held-out speakers
(``diarize simulate``): per test file a draw of 2-8 speakers, one long session (10-60 minutes,
the speakers keep coming back) and 90-s sessions of the same speakers (at most 4 each, what
the network was trained on). Then reports:

* DER (collar 0.25 and 0) of ``diarize infer`` on the long files against the 90-s files of the
  same speakers (issue 12's goal: long <= 1.2 x short), and the speaker-count accuracy on the
  long files (hypothesis count == reference count);
* streaming DER at each latency beside offline DER, on the same long files;
* ``threshold``: cosine similarities of CAM++ embeddings of pieces of the same and of
  different speakers (the linking threshold's basis), when the model has the CAM++ front end.

Everything goes under ``--out`` (default data/longform_eval); stages are re-runnable and skip
work whose outputs exist. ``results.json`` and ``results.md`` hold the tables.

Usage:
    python scripts/eval_longform.py --source data/voicebank/test.free.json
    python scripts/eval_longform.py --source test.json --files 12 --minutes 10 30 60 \\
        --model exp/model.pt --latencies 0.32 1.04 10
    python scripts/eval_longform.py --source test.json --stages threshold --model exp/model.pt
    python scripts/eval_longform.py --source test.json --files 2 --minutes 10 --short 2 \
        --latencies 1.04                                                   # a small run
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

STAGES = ("simulate", "offline", "stream", "threshold", "report")


def read_sources(path: Path) -> dict[str, list[dict]]:
    """Utterances by speaker, audio paths made absolute."""
    by_speaker: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            audio = Path(entry["audio_filepath"])
            entry["audio_filepath"] = str(audio if audio.is_absolute() else path.parent / audio)
            by_speaker[entry["speaker_id"]].append(entry)
    return dict(by_speaker)


def diarize(*args: str) -> None:
    command = [sys.executable, "-m", "diarize", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def simulate(args, sources: dict[str, list[dict]]) -> list[dict]:
    """One long session and ``--short`` 90-s sessions per test file, from the same speakers."""
    rng = random.Random(args.seed)
    low, high = (int(v) for v in args.speakers.split("-"))
    # pseudo-speakers of one voice (pitch/tempo copies) are too alike to count as different
    # people here: draw one per base voice
    voices = defaultdict(list)
    for speaker, utterances in sorted(sources.items()):
        voices[utterances[0].get("base_voice", speaker)].append(speaker)
    files = []
    for index in range(args.files):
        count = min(rng.randint(low, high), len(voices))
        chosen = [rng.choice(voices[v]) for v in rng.sample(sorted(voices), count)]
        minutes = args.minutes[index % len(args.minutes)]
        folder = args.out / "sets" / f"file{index:02d}"
        manifest = folder / "sources.json"
        folder.mkdir(parents=True, exist_ok=True)
        manifest.write_text("".join(json.dumps(u) + "\n" for s in chosen for u in sources[s]))
        common = [f"source_manifest={manifest}", f"seed={args.seed + index}", "num_workers=1"]
        if not (folder / "long" / "manifest.json").is_file():
            diarize(
                "simulate",
                *common,
                f"out_dir={folder / 'long'}",
                "num_sessions=1",
                f"session_length={minutes * 60:g}",
                f"num_speakers={count}",
                f"uri_prefix=long{index:02d}",
                "--no-progress",
            )
        if not (folder / "short" / "manifest.json").is_file():
            diarize(
                "simulate",
                *common,
                f"out_dir={folder / 'short'}",
                f"num_sessions={args.short}",
                "session_length=90",
                f"num_speakers={min(count, 4)}",
                f"uri_prefix=short{index:02d}",
                "--no-progress",
            )
        files.append({"index": index, "speakers": count, "minutes": minutes, "folder": folder})
    return files


def merged_manifest(files: list[dict], kind: str, out: Path) -> Path:
    lines = []
    for item in files:
        manifest = item["folder"] / kind / "manifest.json"
        for line in manifest.read_text().splitlines():
            entry = json.loads(line)
            audio = Path(entry["audio_filepath"])
            entry["audio_filepath"] = str((manifest.parent / audio).resolve())
            rttm = Path(entry["rttm_filepath"])
            entry["rttm_filepath"] = str((manifest.parent / rttm).resolve())
            lines.append(json.dumps(entry) + "\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(lines))
    return out


def reference_dir(manifest: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for line in manifest.read_text().splitlines():
        rttm = Path(json.loads(line)["rttm_filepath"])
        (out / rttm.name).write_text(rttm.read_text())
    return out


def score(ref: Path, hyp: Path, collar: float) -> dict:
    out = hyp / f"score_collar{collar:g}.json"
    diarize(
        "score", "--ref", str(ref), "--hyp", str(hyp), "--collar", f"{collar:g}", "--json", str(out)
    )
    return json.loads(out.read_text())


def speaker_count_accuracy(ref: Path, hyp: Path) -> tuple[float, list]:
    from diarize.data.rttm import read_rttm

    rows = []
    for path in sorted(ref.glob("*.rttm")):
        true = len({t.speaker for t in read_rttm(path)})
        found = hyp / path.name
        guess = len({t.speaker for t in read_rttm(found)}) if found.is_file() else 0
        rows.append((path.stem, true, guess))
    accuracy = float(np.mean([t == g for _, t, g in rows])) if rows else float("nan")
    return accuracy, rows


def offline(args, files) -> dict:
    results = {}
    for kind in ("long", "short"):
        manifest = merged_manifest(files, kind, args.out / f"{kind}.json")
        ref = reference_dir(manifest, args.out / "ref" / kind)
        hyp = args.out / "hyp" / "offline" / kind
        model = ["--model", args.model] if args.model else []
        diarize("infer", str(manifest), "--out", str(hyp), "--quiet", "--device", "cpu", *model)
        results[kind] = {f"der_c{c:g}": score(ref, hyp, c)["overall"]["der"] for c in (0.25, 0.0)}
        accuracy, rows = speaker_count_accuracy(ref, hyp)
        results[kind]["speaker_count_accuracy"] = accuracy
        results[kind]["speaker_counts"] = rows
    return results


def stream(args, files) -> dict:
    from diarize.data.rttm import write_rttm
    from diarize.inference.sources import FileSource
    from diarize.inference.streaming import StreamingDiarizer

    manifest = merged_manifest(files, "long", args.out / "long.json")
    ref = reference_dir(manifest, args.out / "ref" / "long")
    results = {}
    for latency in args.latencies:
        hyp = args.out / "hyp" / f"stream_{latency:g}"
        audio_seconds, wall = 0.0, 0.0
        for line in manifest.read_text().splitlines():
            entry = json.loads(line)
            uri = Path(entry["audio_filepath"]).stem
            if (hyp / f"{uri}.rttm").is_file():
                continue
            source = FileSource(entry["audio_filepath"])
            diarizer = StreamingDiarizer.from_pretrained(args.model, latency=latency, uri=uri)
            start = time.perf_counter()
            step = diarizer.block * 1280
            for first in range(0, source.num_samples, 16000 * 10):
                audio = source.read(first, min(first + 16000 * 10, source.num_samples))
                for offset in range(0, len(audio), step):
                    diarizer.feed(audio[offset : offset + step])
            diarizer.finish()
            wall += time.perf_counter() - start
            audio_seconds += source.num_samples / 16000
            write_rttm(hyp / f"{uri}.rttm", diarizer.turns)
        results[f"{latency:g}"] = {
            f"der_c{c:g}": score(ref, hyp, c)["overall"]["der"] for c in (0.25, 0.0)
        }
        if audio_seconds:
            results[f"{latency:g}"]["rtf"] = wall / audio_seconds
        results[f"{latency:g}"]["speaker_count_accuracy"] = speaker_count_accuracy(ref, hyp)[0]
    return results


def threshold(args, sources: dict[str, list[dict]]) -> dict:
    """Cosine similarities of CAM++ embeddings of ~``piece`` s pieces, same vs different voice."""
    import torch

    from diarize.audio.io import load_audio
    from diarize.inference.diarizer import Diarizer
    from diarize.inference.longform import WindowModel

    diarizer = Diarizer.from_pretrained(args.model, device="cpu")
    model = WindowModel(diarizer.network, diarizer.longform)
    if model.campplus is None:
        return {"note": "the model has no CAM++ front end; nothing to measure"}
    rng = random.Random(args.seed)
    embeddings, owners = [], []
    by_voice = defaultdict(list)
    for speaker, utterances in sources.items():
        by_voice[utterances[0].get("base_voice", speaker)].append(speaker)
    speakers = [rng.choice(v) for _, v in sorted(by_voice.items())][: args.threshold_speakers]
    for speaker in speakers:
        utterances = sources[speaker][:]
        rng.shuffle(utterances)
        piece: list[np.ndarray] = []
        for utterance in utterances:
            piece.append(load_audio(utterance["audio_filepath"]))
            if sum(map(len, piece)) >= args.piece * 16000:
                emb = model.embed(np.concatenate(piece))
                weights = torch.ones(1, len(emb))
                with torch.inference_mode():
                    vector = model.campplus.embed_frames(emb[None], weights)[0].numpy()
                embeddings.append(vector / np.linalg.norm(vector))
                owners.append(speaker)
                piece = []
    matrix = np.stack(embeddings) @ np.stack(embeddings).T
    owners = np.array(owners)
    upper = np.triu(np.ones_like(matrix, dtype=bool), 1)
    same = matrix[upper & (owners[:, None] == owners[None, :])]
    other = matrix[upper & (owners[:, None] != owners[None, :])]
    grid = np.linspace(-0.2, 1.0, 121)
    errors = [((same < t).mean() + (other >= t).mean()) / 2 for t in grid]
    best = float(grid[int(np.argmin(errors))])
    return {
        "speakers": len(speakers),
        "pieces": len(owners),
        "piece_seconds": args.piece,
        "same_mean": float(same.mean()) if len(same) else None,
        "different_mean": float(other.mean()) if len(other) else None,
        "different_p99": float(np.quantile(other, 0.99)) if len(other) else None,
        "best_threshold": best,
        "balanced_error_at_best": float(min(errors)),
    }


def report(results: dict, path: Path) -> None:
    lines = [f"# Long-form evaluation (model: {results.get('model') or 'bundled default'})", ""]
    if "offline" in results:
        lines += ["| set | DER c0.25 | DER c0 | speaker count right |", "|---|---|---|---|"]
        for kind, row in results["offline"].items():
            lines.append(
                f"| {kind} | {row['der_c0.25']:.2f} | {row['der_c0']:.2f} | "
                f"{100 * row['speaker_count_accuracy']:.0f}% |"
            )
        lines.append("")
    if "stream" in results:
        lines += ["| latency s | DER c0.25 | DER c0 | RTF | count right |", "|---|---|---|---|---|"]
        if "offline" in results:
            row = results["offline"]["long"]
            lines.append(f"| offline | {row['der_c0.25']:.2f} | {row['der_c0']:.2f} | | |")
        for latency, row in results["stream"].items():
            lines.append(
                f"| {latency} | {row['der_c0.25']:.2f} | {row['der_c0']:.2f} | "
                f"{row.get('rtf', float('nan')):.3f} | {100 * row['speaker_count_accuracy']:.0f}% |"
            )
        lines.append("")
    if "threshold" in results:
        lines += ["threshold: " + json.dumps(results["threshold"]), ""]
    path.write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="single-speaker manifest")
    parser.add_argument("--out", type=Path, default=Path("data/longform_eval"))
    parser.add_argument("--model", default=None, help="model file (default: bundled)")
    parser.add_argument("--files", type=int, default=6, help="long test files")
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 20, 60])
    parser.add_argument("--speakers", default="2-8", help="speakers per file, a range")
    parser.add_argument("--short", type=int, default=6, help="90-s files per long file")
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.32, 1.04, 10.0])
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--piece", type=float, default=8.0, help="threshold: seconds per piece")
    parser.add_argument("--threshold-speakers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sources = read_sources(args.source)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    results["model"] = args.model
    files = simulate(args, sources) if {"simulate", "offline", "stream"} & set(args.stages) else []
    if "offline" in args.stages:
        results["offline"] = offline(args, files)
    if "stream" in args.stages:
        results["stream"] = stream(args, files)
    if "threshold" in args.stages:
        results["threshold"] = threshold(args, sources)
    results_path.write_text(json.dumps(results, indent=1, default=str))
    report(results, args.out / "results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
