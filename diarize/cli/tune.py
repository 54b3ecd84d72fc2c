"""``diarize tune``: search post-processing parameters on a dev set and write them as YAML."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from diarize.errors import DiarizeError

EPILOG = """\
examples:
  diarize tune --manifest data/dev/manifest.json --model exp/model.pt --out exp/postprocess.yaml
  diarize tune --manifest dev.json --model exp/model.pt --out pp.yaml --n-trials 300 --collar 0

The model runs once over the manifest (every line needs rttm_filepath); then Optuna (TPE,
seeded) searches onset, offset, pad_onset, pad_offset, min_duration_on and min_duration_off to
minimise the DER. The YAML records the model (path and sha256), the data, the DER before and
after, the collar and the date. Use it with: diarize infer ... --postprocessing pp.yaml
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="tune post-processing on a dev manifest",
        description="Tune post-processing parameters (Optuna) on a dev manifest with RTTMs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("--manifest", required=True, type=Path, help="dev manifest (.json)")
    parser.add_argument("--model", default=None, help="model .pt/.ckpt (default: bundled model)")
    parser.add_argument("--out", required=True, type=Path, metavar="YAML", help="YAML to write")
    parser.add_argument("--n-trials", type=int, default=100, metavar="N", help="default 100")
    parser.add_argument("--collar", type=float, default=0.25, help="md-eval collar (s each side)")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    parser.add_argument(
        "--longform", type=Path, metavar="YAML", help="long-audio settings, as for diarize infer"
    )
    parser.add_argument("--device", default="auto", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diarize.inference.diarizer import Diarizer
    from diarize.inference.postprocess import (
        PostProcessingParams,
        save_postprocessing,
        with_provenance,
    )
    from diarize.inference.tune import file_sha256, tune
    from diarize.io_utils import check_writable_file

    if not args.collar >= 0:
        raise DiarizeError(f"--collar must be >= 0, got {args.collar}")
    if args.n_trials < 1:
        raise DiarizeError(f"--n-trials must be >= 1, got {args.n_trials}")
    check_writable_file(args.out)  # before tuning: a finished search must not be lost
    items = _dev_items(args.manifest)
    # start from neutral values, not from a YAML that may sit beside the model
    diarizer = Diarizer.from_pretrained(
        args.model,
        postprocessing=PostProcessingParams(),
        longform=args.longform,
        device=args.device,
    )
    recordings = _posteriors(diarizer, items, args.quiet)
    hours = sum(r.duration for r in recordings) / 3600
    print(f"Tuning on {len(recordings)} recordings ({hours:.2f} h), {args.n_trials} trials")
    result = tune(
        recordings,
        n_trials=args.n_trials,
        collar=args.collar,
        seed=args.seed,
        progress=not args.quiet,
    )
    params = with_provenance(
        result.params,
        model=str(diarizer.model_path),
        model_sha256=file_sha256(diarizer.model_path),
        data=str(args.manifest),
        num_files=len(recordings),
        hours=round(hours, 4),
        der=round(result.der_after, 4),
        der_before=round(result.der_before, 4),
        collar=args.collar,
        n_trials=result.n_trials,
        seed=args.seed,
        date=dt.date.today().isoformat(),
    )
    save_postprocessing(args.out, params)
    print(
        f"DER {result.der_before:.2f}% -> {result.der_after:.2f}% (collar {args.collar:g}); "
        f"wrote {args.out}"
    )
    return 0


def _dev_items(manifest: Path) -> list:
    from diarize.inference.inputs import expand_inputs, is_manifest_path

    if not is_manifest_path(manifest):
        raise DiarizeError(f"{manifest}: expected a manifest (.json)")
    items = expand_inputs([manifest])
    missing = [item.uri for item in items if item.rttm_filepath is None]
    if missing:
        raise DiarizeError(
            f"{manifest}: {len(missing)} line(s) have no rttm_filepath (e.g. {missing[0]}); "
            "tuning needs a reference for every recording"
        )
    return items


def _posteriors(diarizer, items: list, quiet: bool) -> list:
    from tqdm import tqdm

    from diarize.inference.inputs import reference_turns, scoring_uem
    from diarize.inference.tune import DevRecording

    recordings = []
    for item, outcome in tqdm(
        diarizer.diarize_items(items),
        total=len(items),
        unit="file",
        disable=quiet,
        file=sys.stderr,
    ):
        if isinstance(outcome, DiarizeError):
            raise outcome
        recordings.append(
            DevRecording(
                uri=item.uri,
                probs=outcome.probs,
                offset=outcome.offset,
                duration=outcome.duration,
                reference=reference_turns(item),
                uem=scoring_uem(item),
            )
        )
    return recordings
