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


# -- hostile input: each ends in one line and a non-zero exit, before training --------------


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_heads_that_do_not_divide_d_model_fail_in_one_line(capsys):
    assert main(["train", *SHRINK, "model.encoder.num_heads=3"]) == 1
    error = _one_line_error(capsys)
    assert "model.encoder.d_model (32) must be divisible by model.encoder.num_heads (3)" in error
    assert main(["train", "model.sortformer.num_heads=0"]) == 1
    assert "model.sortformer.num_heads must be at least 1" in _one_line_error(capsys)


def test_malformed_yaml_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  encoder:\n    d_model: [32\n  max_speakers: 4\n")
    assert main(["train", "--config", str(bad)]) == 1
    assert f"{bad}:4: malformed YAML" in _one_line_error(capsys)


def test_overrides_after_a_flag_are_accepted(tmp_path, capsys):
    assert main(["train", *SHRINK, "--print-config", f"exp_dir={tmp_path}/x", "seed=5"]) == 0
    out = capsys.readouterr().out
    assert f"exp_dir: {tmp_path}/x" in out and "seed: 5" in out
    with pytest.raises(SystemExit):  # a real unknown flag is still refused
        main(["train", "--print-config", "--nope"])


@pytest.mark.parametrize("where", ["file", "below_file"])
def test_exp_dir_that_cannot_be_written_fails_before_training(tmp_path, capsys, where):
    manifest = _tiny_set(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    exp = blocker if where == "file" else blocker / "exp"
    assert _train(manifest, exp, "trainer.max_steps=1") == 1
    assert f"exp_dir {exp}" in _one_line_error(capsys)


def test_read_only_exp_dir_fails_before_training(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    manifest = _tiny_set(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert _train(manifest, locked / "exp", "trainer.max_steps=1") == 1
    assert "cannot write there" in _one_line_error(capsys)


def test_truncated_last_checkpoint_is_named(tmp_path, capsys):
    manifest = _tiny_set(tmp_path)
    exp = tmp_path / "exp"
    assert _train(manifest, exp, "trainer.max_steps=1", "trainer.val_check_interval=1") == 0
    last = exp / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    capsys.readouterr()
    assert _train(manifest, exp, "trainer.max_steps=2") == 1
    error = _one_line_error(capsys)
    assert f"{last}: cannot resume, unreadable checkpoint" in error


def test_resume_with_another_architecture_names_the_first_difference(tmp_path, capsys):
    manifest = _tiny_set(tmp_path)
    exp = tmp_path / "exp"
    assert _train(manifest, exp, "trainer.max_steps=1", "trainer.val_check_interval=1") == 0
    capsys.readouterr()
    assert _train(manifest, exp, "trainer.max_steps=2", "model.encoder.num_layers=2") == 1
    error = _one_line_error(capsys)
    assert "last.ckpt: cannot resume, the checkpoint holds another network" in error
    assert "encoder.num_layers: 1 there, 2 here" in error


def test_ctrl_c_saves_last_checkpoint_and_exits_130(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    manifest = _tiny_set(tmp_path)
    exp = tmp_path / "exp"
    command = [
        sys.executable, "-m", "diarize", "train", *SHRINK,
        f"model.train_ds.manifest_filepath={manifest}", f"exp_dir={exp}",
        "trainer.accelerator=cpu", "trainer.enable_progress_bar=false",
        "trainer.max_steps=100000", "checkpoint_every_n_steps=1000",
        "model.cache_training.prob=0",
    ]  # fmt: skip
    # a shell's background job (`pytest &`) starts with SIGINT ignored, and Python then keeps it
    # ignored in the child: give the child Ctrl-C as a terminal would
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 180
        while not (exp / "metrics.csv").is_file() or (exp / "metrics.csv").stat().st_size < 40:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.5)
        time.sleep(1.0)  # a few steps
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()  # never left training after a failure
    assert process.returncode == 130, err
    lines = [line for line in err.splitlines() if line.startswith("diarize train:")]
    assert len(lines) == 1 and "interrupted; saved" in lines[0] and "Traceback" not in err
    last = exp / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["global_step"] >= 1
