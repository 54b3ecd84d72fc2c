"""Small helpers of run.sh and ablation.sh, run from the repo root with ``python -m``."""
