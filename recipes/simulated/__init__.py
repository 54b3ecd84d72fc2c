"""The simulated-data recipe (run.sh: voice bank -> simulation -> training -> evaluation; ablation.sh)."""
