import importlib.util
import json
from pathlib import Path

import pytest

from diarize.cli.main import main


def _load_make_pool():
    """The simulate tests' pool generator, loaded by path (tests are not a package)."""
    path = Path(__file__).resolve().parents[1] / "simulate" / "conftest.py"
    spec = importlib.util.spec_from_file_location("simulate_test_pool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_pool


make_pool = _load_make_pool()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    return make_pool(tmp_path_factory.mktemp("pool"))


def test_simulate_end_to_end_with_overrides(pool, tmp_path, capsys):
    out = tmp_path / "sim"
    status = main(
        [
            "simulate",
            "--config",
            str(REPO / "conf" / "simulate.yaml"),
            "--no-progress",
            f"source_manifest={pool}",
            f"out_dir={out}",
            "num_sessions=3",
            "session_length=6.5",
            "num_speakers=2",
            "uri_prefix=conv",
            "num_workers=0",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "rendered 3 sessions" in printed
    assert "overlap_ratio: mean" in printed and "2 spk: 3" in printed
    lines = [json.loads(line) for line in (out / "manifest.json").read_text().splitlines()]
    assert [line["uniq_id"] for line in lines] == ["conv_000000", "conv_000001", "conv_000002"]
    for line in lines:
        assert line["num_speakers"] == 2 and line["duration"] == 6.5
        assert (out / line["audio_filepath"]).is_file()
        assert (out / line["rttm_filepath"]).is_file()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["summary"]["sessions"] == 3


def test_plan_only_renders_nothing(pool, tmp_path, capsys):
    out = tmp_path / "plan"
    args = ["simulate", "--plan-only", "--no-progress", f"source_manifest={pool}", f"out_dir={out}"]
    assert main([*args, "num_sessions=2"]) == 0
    assert "planned 2 sessions" in capsys.readouterr().out
    assert (out / "plan.json").is_file() and (out / "stats.json").is_file()
    assert not (out / "audio").exists() and not (out / "manifest.json").exists()


@pytest.mark.parametrize(
    "override, message",
    [
        ("turns.turn_probability=0.5", "turn_probability"),
        ("num_speakers=9", "num_speakers asks for up to 9 speakers but the source pool has 6"),
    ],
)
def test_bad_config_is_a_one_line_error(pool, tmp_path, capsys, override, message):
    status = main(
        ["simulate", "--no-progress", f"source_manifest={pool}", f"out_dir={tmp_path}", override]
    )
    assert status == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("diarize simulate: error:") and message in error
    assert "\n" not in error
    assert not (tmp_path / "plan.json").exists()


def test_missing_source_manifest(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert main(["simulate", f"source_manifest={missing}", f"out_dir={tmp_path}"]) == 1
    assert "nope.json" in capsys.readouterr().err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out
