from pathlib import Path

import pytest
from omegaconf import OmegaConf

from diarize.errors import DiarizeError
from diarize.simulate.config import default_config, load_config, num_speakers_choices

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ["source_manifest=src.json", "out_dir=out"]


def test_shipped_yaml_equals_the_defaults():
    shipped = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "simulate.yaml"))
    assert shipped == OmegaConf.to_container(default_config())


def test_yaml_then_overrides_are_merged(tmp_path):
    config = load_config(
        REPO / "conf" / "simulate.yaml",
        [*REQUIRED, "num_sessions=7", "turns.turn_prob=0.5", "augment.noise.snr_db=[0,10]"],
    )
    assert config.num_sessions == 7
    assert config.turns.turn_prob == 0.5
    assert list(config.augment.noise.snr_db) == [0, 10]


@pytest.mark.parametrize(
    "override, message",
    [
        ("colour=blue", "colour"),
        ("turns.bogus=1", "bogus"),
        ("augment.reverb.rt61=0.3", "rt61"),
        ("num_sessions=many", "num_sessions"),
        ("overlap_ratio=1.5", "overlap_ratio"),
        ("turns.turn_prob=-0.1", "turn_prob"),
        ("augment.noise.types.rain=1", "rain"),
        ("augment.level_db=[-10,-20]", "level_db"),
        ("num_speakers=0", "num_speakers"),
        ("nonsense", "key=value"),
    ],
)
def test_bad_keys_and_values_fail_fast_naming_the_key(override, message):
    with pytest.raises(DiarizeError, match=message) as error:
        load_config(None, [*REQUIRED, override])
    assert "\n" not in str(error.value)


def test_mandatory_keys_are_required():
    with pytest.raises(DiarizeError, match="out_dir"):
        load_config(None, ["source_manifest=x.json"])


def test_unknown_key_in_a_yaml_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("turns:\n  turn_probability: 0.5\n")
    with pytest.raises(DiarizeError, match="bad.yaml.*turn_probability"):
        load_config(path, REQUIRED)


@pytest.mark.parametrize(
    "value, expected",
    [(3, [3]), ([2, 3, 3], [2, 3, 3]), ("2-4", [2, 3, 4]), ("5", [5])],
)
def test_num_speakers_forms(value, expected):
    assert num_speakers_choices(value) == expected


@pytest.mark.parametrize("value", ["x", [], [0, 2], "3-1", True, 2.5])
def test_num_speakers_rejects(value):
    with pytest.raises(DiarizeError, match="num_speakers"):
        num_speakers_choices(value)
