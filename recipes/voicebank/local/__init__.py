"""The voice bank's data preparation steps, one module each, run by ../run.sh with ``python -m``."""
