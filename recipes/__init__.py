"""Recipes: staged ``run.sh`` scripts and their ``local/`` helpers.

Run from the repository root; helpers are modules, e.g. ``python -m recipes.voicebank.local.split``.
They import the library (``diarize``), never copy it.
"""
