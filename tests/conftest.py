"""Fixtures for every test folder: debug-size networks built from the shipped YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
DEBUG_MODEL_YAML = CONF_DIR / "model" / "debug.yaml"


@pytest.fixture(scope="session")
def build_debug_network():
    """``build(seed=0)``: a tiny untrained SortFormer of conf/model/debug.yaml, in eval mode."""
    from diarize.models import build_network_from_config

    def build(seed: int = 0):
        return build_network_from_config(DEBUG_MODEL_YAML, seed)

    return build


@pytest.fixture(scope="session")
def debug_network(build_debug_network):
    """The seed-0 debug network (shared: do not change its weights)."""
    return build_debug_network()


@pytest.fixture(scope="session")
def model_path(tmp_path_factory, build_debug_network) -> Path:
    """The debug network exported to a compact ``debug.pt`` model file."""
    from diarize.models import save_model

    path = tmp_path_factory.mktemp("model") / "debug.pt"
    return save_model(build_debug_network(), path, meta={"note": "untrained debug network"})
