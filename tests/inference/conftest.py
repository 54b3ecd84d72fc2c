import pytest


@pytest.fixture(scope="session")
def debug_network():
    """A tiny untrained SortFormer built from conf/model/debug.yaml, in eval mode."""
    from diarize.models import debug_network as build

    return build()
