import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from diarize.errors import DiarizeError
from diarize.models import build_network_from_config, load_model, save_model
from diarize.models.config import network_config, stored_network_config
from diarize.training.config import TrainConfig, load_train_config

CONF = Path(__file__).resolve().parents[2] / "conf"


def test_train_yaml_equals_the_dataclass_defaults():
    shipped = OmegaConf.to_container(load_train_config([CONF / "train.yaml"]))
    defaults = OmegaConf.to_container(OmegaConf.structured(TrainConfig))
    assert shipped == defaults


@pytest.mark.parametrize("size", ["debug", "small", "large"])
def test_model_sizes_load(size):
    config = load_train_config([CONF / "train.yaml", CONF / "model" / f"{size}.yaml"])
    assert network_config(config).max_speakers == 4


def test_campplus_preset_is_the_default_network():
    preset = network_config(CONF / "model" / "campplus.yaml")
    assert preset == network_config(CONF / "train.yaml") == network_config({})
    assert preset.encoder.type == "campplus"


def test_stored_configs_from_before_the_front_end_choice_are_conformer():
    stored = network_config(CONF / "model" / "small.yaml")
    old = {"encoder": {"d_model": 128}, "sortformer": {"d_model": 128}}
    assert stored_network_config(old).encoder.type == "conformer"
    assert stored_network_config(old).sortformer.arrival_min_frames == 1
    assert stored.encoder.type == "conformer"


def test_bad_config_files(tmp_path):
    with pytest.raises(DiarizeError, match="config file not found"):
        load_train_config([tmp_path / "missing.yaml"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  encoder:\n    depth: 3\n")
    with pytest.raises(DiarizeError, match=r"bad.yaml: unknown config key 'model.encoder.depth'"):
        load_train_config([bad])
    with pytest.raises(DiarizeError, match="expected key=value"):
        load_train_config([], ["exp_dir"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.optim.lr=0", "model.optim.lr must be above 0, got 0"),
        ("model.train_ds.batch_size=0", "model.train_ds.batch_size must be at least 1"),
        ("model.max_speakers=0", "model.max_speakers must be at least 1"),
        ("model.cache_training.prob=1.5", "between 0 and 1, got 1.5"),
    ],
)
def test_values_a_run_cannot_use_are_refused(override, message):
    with pytest.raises(DiarizeError, match=message):
        load_train_config([], [override])


def test_save_and_load_round_trip(tmp_path):
    network = build_network_from_config(CONF / "model" / "debug.yaml")
    path = save_model(network, tmp_path / "m.pt")
    loaded = load_model(path)
    assert not loaded.training
    audio = torch.randn(1, 16000 * 2)
    lengths = torch.tensor([32000])
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(audio, lengths)[0], network(audio, lengths)[0], atol=1e-2, rtol=0
        )
    state = torch.load(path, weights_only=True)["state_dict"]
    assert all(
        value.dtype == torch.float16 for value in state.values() if value.is_floating_point()
    )


def test_loading_an_exported_model_does_not_import_lightning(model_path):
    path = model_path
    code = (
        "import sys; from diarize.models import load_model; load_model(sys.argv[1]); "
        "print('lightning' in sys.modules or 'lightning.pytorch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_load_model_errors(tmp_path):
    with pytest.raises(DiarizeError, match="no such model file"):
        load_model(tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(DiarizeError, match="junk.pt"):
        load_model(junk)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(DiarizeError, match="not a diarize model"):
        load_model(tmp_path / "other.pt")
