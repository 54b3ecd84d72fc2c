import json

import numpy as np
import soundfile as sf

from diarize.cli.main import main
from diarize.inference.postprocess import PARAMETER_NAMES, load_postprocessing


def _dev_set(folder, with_rttm=True):
    rng = np.random.default_rng(0)
    lines = []
    for index in range(2):
        audio = (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32)
        sf.write(folder / f"d{index}.wav", audio, 16000)
        line = {"audio_filepath": f"d{index}.wav"}
        if with_rttm:
            (folder / f"d{index}.rttm").write_text(
                f"SPEAKER d{index} 1 0.5 2.0 <NA> <NA> A <NA> <NA>\n"
                f"SPEAKER d{index} 1 2.5 1.0 <NA> <NA> B <NA> <NA>\n"
            )
            line["rttm_filepath"] = f"d{index}.rttm"
        lines.append(json.dumps(line) + "\n")
    manifest = folder / "dev.json"
    manifest.write_text("".join(lines))
    return manifest


def test_tune_writes_yaml_that_loads_back(tmp_path, model_path, capsys):
    manifest = _dev_set(tmp_path)
    out = tmp_path / "pp.yaml"
    args = ["tune", "--manifest", str(manifest), "--model", str(model_path), "--out", str(out)]
    status = main([*args, "--n-trials", "4", "--device", "cpu", "--quiet"])
    assert status == 0
    params = load_postprocessing(out)
    provenance = params.provenance
    assert provenance["model"] == str(model_path)
    assert len(provenance["model_sha256"]) == 64
    assert provenance["data"] == str(manifest)
    assert provenance["num_files"] == 2 and provenance["collar"] == 0.25
    assert provenance["der"] <= provenance["der_before"]
    assert set(params.parameters()) == set(PARAMETER_NAMES)
    assert "DER" in capsys.readouterr().out
    # the tuned file is accepted by infer
    audio = tmp_path / "d0.wav"
    assert (
        main(
            [
                "infer",
                str(audio),
                "--out",
                str(tmp_path / "o"),
                "--model",
                str(model_path),
                "--postprocessing",
                str(out),
                "--quiet",
                "--device",
                "cpu",
            ]
        )
        == 0
    )


def test_tune_needs_references(tmp_path, model_path, capsys):
    manifest = _dev_set(tmp_path, with_rttm=False)
    args = ["tune", "--manifest", str(manifest), "--model", str(model_path)]
    assert main([*args, "--out", str(tmp_path / "pp.yaml"), "--quiet"]) == 1
    assert "rttm_filepath" in capsys.readouterr().err
    assert not (tmp_path / "pp.yaml").exists()


def test_unwritable_out_fails_before_tuning(tmp_path, model_path, capsys):
    manifest = _dev_set(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ["tune", "--manifest", str(manifest), "--model", str(model_path)]
    status = main([*args, "--out", str(blocker / "pp.yaml"), "--device", "cpu", "--quiet"])
    assert status == 1
    captured = capsys.readouterr()
    assert "Tuning on" not in captured.out
    (line,) = captured.err.splitlines()
    assert line.startswith("diarize tune: error:") and "file" in line
