import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from diarize.cli.main import main
from diarize.models import export_model, load_model

CONF = Path(__file__).resolve().parents[2] / "conf"
SHRINK = ["--config", str(CONF / "train.yaml"), "--config", str(CONF / "model" / "debug.yaml")]


def _tiny_set(folder: Path) -> Path:
    """Two short recordings of noise bursts (two 'speakers' with different spectra) + RTTMs."""
    rng = np.random.default_rng(0)
    lines = []
    for index in range(2):
        audio = 0.01 * rng.standard_normal(16000 * 6)
        rttm = []
        for speaker, start, end, tone in (
            ("A", 0.4, 2.5, 300),
            ("B", 2.2, 4.5, 1200),
            ("A", 4.8, 5.8, 300),
        ):
            span = np.arange(int(start * 16000), int(end * 16000))
            audio[span] += (
                0.3 * np.sin(2 * np.pi * tone * span / 16000) * rng.standard_normal(len(span))
            )
            rttm.append(
                f"SPEAKER rec{index} 1 {start:.2f} {end - start:.2f} <NA> <NA> {speaker} <NA> <NA>\n"
            )
        sf.write(folder / f"rec{index}.wav", audio.astype(np.float32), 16000)
        (folder / f"rec{index}.rttm").write_text("".join(rttm))
        lines.append(
            json.dumps({"audio_filepath": f"rec{index}.wav", "rttm_filepath": f"rec{index}.rttm"})
        )
    manifest = folder / "train.json"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def _train(manifest, exp_dir, *overrides):
    return main(
        [
            "train",
            *SHRINK,
            f"model.train_ds.manifest_filepath={manifest}",
            f"model.validation_ds.manifest_filepath={manifest}",
            f"exp_dir={exp_dir}",
            "trainer.accelerator=cpu",
            "trainer.enable_progress_bar=false",
            "trainer.log_every_n_steps=1",
            "model.cache_training.prob=0.5",
            *overrides,
        ]
    )


def test_fast_dev_run_from_the_shipped_config(tmp_path):
    manifest = _tiny_set(tmp_path)
    assert _train(manifest, tmp_path / "exp", "trainer.fast_dev_run=true") == 0


def test_train_resume_and_export(tmp_path):
    manifest = _tiny_set(tmp_path)
    exp = tmp_path / "exp"
    assert _train(manifest, exp, "trainer.max_steps=2", "trainer.val_check_interval=2") == 0
    last = exp / "checkpoints" / "last.ckpt"
    assert last.is_file() and (exp / "checkpoints" / "best.ckpt").is_file()
    assert torch.load(last, weights_only=False)["global_step"] == 2
    rows = list(csv.DictReader(open(exp / "metrics.csv")))
    assert any(row.get("train_loss") for row in rows)
    assert any(row.get("val_der") for row in rows)

    assert _train(manifest, exp, "trainer.max_steps=4", "trainer.val_check_interval=2") == 0
    assert torch.load(last, weights_only=False)["global_step"] == 4
    resumed = list(csv.DictReader(open(exp / "metrics.csv")))
    steps = {int(row["step"]) for row in resumed if row.get("train_loss")}
    assert steps and min(steps) > 2 and max(steps) <= 4  # the second run only did steps 3-4
    assert (exp / "metrics.1.csv").is_file()  # the first run's metrics are kept

    network = load_model(last)
    exported = export_model(last, tmp_path / "model.pt")
    compact = load_model(exported)
    audio = torch.randn(1, 16000 * 3)
    lengths = torch.tensor([audio.shape[1]])
    with torch.no_grad():
        full, _ = network(audio, lengths)
        half, _ = compact(audio, lengths)
    assert next(compact.parameters()).dtype == torch.float32
    torch.testing.assert_close(half, full, atol=2e-2, rtol=0)


def test_init_from_copies_weights_and_starts_a_fresh_run(tmp_path, capsys):
    manifest = _tiny_set(tmp_path)
    source = tmp_path / "source"
    assert _train(manifest, source, "trainer.max_steps=1", "trainer.val_check_interval=1") == 0
    pretrained = load_model(source / "checkpoints" / "last.ckpt")
    exported = export_model(source / "checkpoints" / "last.ckpt", tmp_path / "model.pt")

    exp = tmp_path / "finetune"
    overrides = (
        "trainer.max_steps=1",
        "trainer.val_check_interval=1",
        "model.optim.lr=1e-12",
        "model.optim.min_lr=1e-13",
    )
    assert _train(manifest, exp, f"init_from={exported}", *overrides) == 0
    assert "starting from the weights of" in capsys.readouterr().out
    checkpoint = torch.load(exp / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 1  # a new run, not a resume of the source's step count
    tuned = load_model(exp / "checkpoints" / "last.ckpt")
    for (name, before), after in zip(
        pretrained.state_dict().items(), tuned.state_dict().values(), strict=True
    ):
        # lr ~0: the fine-tuned weights are the source's, up to the fp16 export
        torch.testing.assert_close(after, before, atol=2e-3, rtol=1e-2, msg=name)


def test_init_modules_starts_a_new_back_end_on_a_trained_front_end(tmp_path, capsys):
    manifest = _tiny_set(tmp_path)
    source = tmp_path / "source"
    assert _train(manifest, source, "trainer.max_steps=1", "trainer.val_check_interval=1") == 0
    last = source / "checkpoints" / "last.ckpt"
    exp = tmp_path / "plain"
    overrides = ("trainer.max_steps=1", "model.optim.lr=1e-12", "model.optim.min_lr=1e-13")
    plain = "model.sortformer.permutation_encoding=false"  # another back end than the source's
    modules = "init_modules=[subsampling,encoder]"
    assert _train(manifest, exp, f"init_from={last}", modules, plain, *overrides) == 0
    assert "(subsampling, encoder)" in capsys.readouterr().out
    before, after = load_model(last), load_model(exp / "checkpoints" / "last.ckpt")
    for name in ("subsampling", "encoder"):
        for key, value in getattr(before, name).state_dict().items():
            torch.testing.assert_close(getattr(after, name).state_dict()[key], value, msg=key)
    assert not after.config.sortformer.permutation_encoding

    bad = _train(manifest, tmp_path / "bad", f"init_from={last}", "init_modules=[decoder]")
    assert bad != 0 and "'decoder' is not a part of both networks" in capsys.readouterr().err


def test_init_from_a_different_network_is_refused(tmp_path, capsys):
    manifest = _tiny_set(tmp_path)
    source = tmp_path / "source"
    assert _train(manifest, source, "trainer.max_steps=1", "trainer.val_check_interval=1") == 0
    last = source / "checkpoints" / "last.ckpt"
    code = _train(manifest, tmp_path / "other", f"init_from={last}", "model.max_speakers=3")
    assert code != 0
    error = capsys.readouterr().err
    assert "init_from network differs" in error and "max_speakers: 4 there, 3 here" in error


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda folder: (folder / "rec1.wav").unlink(), "rec1.wav: no such audio file"),
        (lambda folder: (folder / "rec0.rttm").unlink(), "rec0.rttm: no such RTTM file"),
        (lambda folder: (folder / "train.json").unlink(), "train.json: no such manifest file"),
    ],
)
def test_missing_inputs_are_named(tmp_path, capsys, break_it, message):
    manifest = _tiny_set(tmp_path)
    break_it(tmp_path)
    assert _train(manifest, tmp_path / "exp", "trainer.max_steps=1") == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "exp" / "checkpoints").exists()


def test_unknown_key_and_bad_value_fail_in_one_line(tmp_path, capsys):
    assert main(["train", "model.encoder.nope=3"]) == 1
    assert "unknown config key 'model.encoder.nope'" in capsys.readouterr().err
    assert main(["train", "trainer.max_steps=many"]) == 1
    assert "trainer.max_steps" in capsys.readouterr().err


def test_print_config(capsys):
    assert main(["train", *SHRINK, "model.max_speakers=8", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "max_speakers: 8" in out and "d_model: 32" in out
