"""Same seed, same bytes: simulation output compared with hashes recorded before a refactor.

The hashes below were produced by the untyped-dict planner (before plans became dataclasses);
any change of the planner, the augmentation draws or the renderer that alters a single byte of
the output for the same seed fails here. Regenerate them only for an intended change of output:
``python tests/simulate/test_reproducible.py``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from diarize.simulate.config import load_config
from diarize.simulate.render import simulate

sys.path.append(str(Path(__file__).parent))  # conftest's pool maker, also when run as a script
from conftest import make_pool  # noqa: E402

RUNS = {
    "wet": [
        "augment.reverb.prob=1",
        "augment.noise.prob=1",
        "augment.telephone.prob=0.5",
        "augment.noise.babble_talkers=[2,3]",
        "augment.noise.types={white: 1, pink: 1, brown: 1, babble: 3}",
    ],
    "default": [],
}

EXPECTED: dict[str, dict[str, str]] = {
    "default": {
        "audio/sim_000000.wav": "92ed7b809f42f746f9be3fed7dd1d12007dd220d3797d74cd80549f6dd1e0af4",
        "audio/sim_000001.wav": "ac19eef4a796dcbdc715da5ce344595a22ed991f2d293ec726c93bdaec69fa7d",
        "audio/sim_000002.wav": "dc03d32d5063a8da86b346218473adc0e23860570da9bba42deb2b97d6a5c6b4",
        "audio/sim_000003.wav": "bc46a32ab74a4a12d180ba31d00180cbf62bf0f12ab37d2e47c06eb8762d08fb",
        "audio/sim_000004.wav": "56c330abee99387589ac18ff6a35e7676c39be46a498d7f4ce7b79537949336f",
        "manifest.json": "db54e6a1ce7f12355d14c7b797690c6dcbac02c25cd11a53b1cfc5e32bc4b441",
        "plan.json": "a35d99515358a8587cfff017b8f6ab415a253d2cd4742b91270e8e634a3d5416",
        "rttm/sim_000000.rttm": "119f92449cd4d410401b9e687b01a593310e58ca4efdc8db1e9e5737c37f5b78",
        "rttm/sim_000001.rttm": "5a7c5ce09af31cd0ce9072952aa53a365254ea95466d217051e1ab7a8c22bc0c",
        "rttm/sim_000002.rttm": "aa89d855c2d01eb4de677b8c3a8a7dc8769b59ec312475f2bb4a57e5c9f73569",
        "rttm/sim_000003.rttm": "70432740f93532a6daa5afbf99ba99c7c7981dd1ea24a8b27b01308a66d2c93c",
        "rttm/sim_000004.rttm": "100a56ee275c72447906091b8034947cc7fcb5d0e0558e4fbf21e9ae35e7afd1",
        "stats.json": "09bdff4419697d6c45b651e1afe4ede94505d09a6a5ed8dbce91dd9d15cc3f0b",
    },
    "wet": {
        "audio/sim_000000.wav": "3c42f868a0fc3179973d96c2e3b1169cd14718e5717b0e8480f9351d7512ea05",
        "audio/sim_000001.wav": "f3fdaa4934c0340da42276c820c99bdd2ee2f141efffd0ff6265d2d156d0bfa9",
        "audio/sim_000002.wav": "05885f8e4c9a786af13522d5cb9af0ad86cdde1a3047ae324900373f98d4c26a",
        "audio/sim_000003.wav": "3cca6a8f54e824c482e0cd5fc70c29230e82ff7a208a0b45fc306b9380aabed5",
        "audio/sim_000004.wav": "87d443f9f4f515789ee63239d7b3f8c85a878be5c0d7270f712b9ddb5da9f087",
        "manifest.json": "db54e6a1ce7f12355d14c7b797690c6dcbac02c25cd11a53b1cfc5e32bc4b441",
        "plan.json": "1fe4e0d549c8a6f6389390ec1b818a66fef9725d22dac9579259070abd1c3565",
        "rttm/sim_000000.rttm": "119f92449cd4d410401b9e687b01a593310e58ca4efdc8db1e9e5737c37f5b78",
        "rttm/sim_000001.rttm": "5a7c5ce09af31cd0ce9072952aa53a365254ea95466d217051e1ab7a8c22bc0c",
        "rttm/sim_000002.rttm": "aa89d855c2d01eb4de677b8c3a8a7dc8769b59ec312475f2bb4a57e5c9f73569",
        "rttm/sim_000003.rttm": "70432740f93532a6daa5afbf99ba99c7c7981dd1ea24a8b27b01308a66d2c93c",
        "rttm/sim_000004.rttm": "100a56ee275c72447906091b8034947cc7fcb5d0e0558e4fbf21e9ae35e7afd1",
        "stats.json": "7eccc0e8c212a2972029877284a479990a16f88af960fda72b03c5edbf74f7d4",
    },
}


def output_hashes(pool: Path, out: Path, overrides: list[str]) -> dict[str, str]:
    """sha256 of every file a run writes, with the run's own folders replaced by placeholders."""
    config = load_config(
        None,
        [
            f"source_manifest={pool / 'sources.json'}",
            f"out_dir={out}",
            "num_sessions=5",
            "session_length=9",
            "num_speakers=[1,2,3]",
            "num_workers=0",
            "seed=7",
            *overrides,
        ],
    )
    simulate(config, progress=False)
    hashes = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".json":
            data = data.replace(str(out).encode(), b"<out>").replace(str(pool).encode(), b"<pool>")
        hashes[str(path.relative_to(out))] = hashlib.sha256(data).hexdigest()
    return hashes


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("golden_pool")
    make_pool(folder)
    return folder


@pytest.mark.parametrize("name", sorted(RUNS))
def test_same_seed_same_bytes_as_before(pool, tmp_path, name):
    assert output_hashes(pool, tmp_path / name, RUNS[name]) == EXPECTED[name]


if __name__ == "__main__":
    import pprint
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_pool(root / "pool")
        pprint.pprint(
            {name: output_hashes(root / "pool", root / name, RUNS[name]) for name in sorted(RUNS)},
            width=100,
        )
