"""``diarize train``: train a SortFormer diarizer from manifests."""

from __future__ import annotations

import argparse

EPILOG = """\
Configuration: the defaults of conf/train.yaml, then each --config file in order, then
key=value overrides (OmegaConf dotlist). Unknown keys and badly typed values are errors.
Checkpoints go to EXP_DIR/checkpoints ({last,best}.ckpt), metrics to EXP_DIR/metrics.csv and
EXP_DIR/tensorboard. A run resumes from EXP_DIR/checkpoints/last.ckpt when it exists.

examples:
  diarize train --config conf/train.yaml \\
      model.train_ds.manifest_filepath=data/train.json \\
      model.validation_ds.manifest_filepath=data/dev.json exp_dir=exp/cpu trainer.max_steps=20000
  diarize train --config conf/train.yaml --config conf/model/large.yaml \\
      model.train_ds.manifest_filepath=data/train.json trainer.accelerator=gpu trainer.devices=4 \\
      trainer.strategy=ddp trainer.precision=bf16-mixed exp_dir=exp/large
  diarize train --config conf/train.yaml model.max_speakers=8 --print-config
  python scripts/export_model.py exp/cpu/checkpoints/best.ckpt model.pt
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a SortFormer diarizer from manifests",
        description="Train a SortFormer diarizer from NeMo-style manifests (audio + RTTM).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="YAML",
        help="config file merged over the defaults (repeatable, later files win)",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from diarize.training.config import load_train_config

    config = load_train_config(args.config, args.overrides)
    if args.print_config:
        print(OmegaConf.to_yaml(config), end="")
        return 0
    from diarize.training.run import run_training

    result = run_training(config)
    print(f"diarize train: {result.global_step} steps; outputs in {result.exp_dir}")
    if result.last_checkpoint:
        print(f"  last checkpoint: {result.last_checkpoint}")
    if result.best_checkpoint:
        print(f"  best checkpoint (validation DER): {result.best_checkpoint}")
    return 0
