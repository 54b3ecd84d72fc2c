"""The voice-bank recipe (see recipes/voicebank/README.md and run.sh)."""
