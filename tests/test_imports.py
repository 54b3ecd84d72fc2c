"""The house's import rules, read from the source with ``ast`` (DESIGN.md section 1).

Imports flow one way: audio -> data -> models/losses -> training, inference -> cli. Each
top-level part of ``diarize`` may import only the parts on lower levels (and the shared
``errors``, ``config``, ``io_utils`` at the bottom). Lightning is imported only where a
Lightning object is built. No module grows past 400 lines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "diarize"

# level of each top-level part: a part may import parts of strictly lower levels only
LEVELS = {
    "__init__": 0,
    "errors": 0,
    "config": 1,
    "io_utils": 1,
    "audio": 2,
    "data": 3,
    "losses": 4,  # pure functions of tensors; the training system (models/) uses them
    "models": 5,
    # scoring needs only RTTM/UEM: the batch inference function scores its outputs with it
    "metrics": 5,
    "simulate": 5,
    "training": 6,
    "inference": 6,
    "review": 7,
    "cli": 8,
    "__main__": 9,
}
LIGHTNING_ALLOWED = {
    "diarize/models/system.py",
    "diarize/data/datamodule.py",
    # `diarize infer --devices N --num-nodes M`: worker processes through Lightning (DESIGN 4)
    "diarize/inference/distributed.py",
}
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in the file, also those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "diarize":
                found += [(node.lineno, f"diarize.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{line}"


def test_every_part_has_a_level():
    parts = {_part(path) for path in _modules()}
    assert parts <= set(LEVELS), f"give these a level in LEVELS: {sorted(parts - set(LEVELS))}"


def test_imports_flow_one_way():
    wrong = []
    for path in _modules():
        part = _part(path)
        for line, module in _imports(path):
            if not module.startswith("diarize."):
                continue
            target = module.split(".")[1]
            if target != part and target in LEVELS and LEVELS[target] >= LEVELS[part]:
                wrong.append(f"{_where(path, line)}: {part} imports {module}")
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_data_knows_no_model():
    wrong = [
        f"{_where(path, line)}: {module}"
        for path in _modules()
        if _part(path) == "data"
        for line, module in _imports(path)
        if module.startswith(("diarize.models", "diarize.losses", "diarize.training"))
    ]
    assert not wrong, wrong


def test_lightning_only_where_allowed():
    wrong = [
        f"{_where(path, line)}: {module}"
        for path in _modules()
        if _part(path) != "training"
        and str(path.relative_to(PACKAGE.parent)) not in LIGHTNING_ALLOWED
        for line, module in _imports(path)
        if module.split(".")[0] in ("lightning", "pytorch_lightning")
    ]
    assert not wrong, "Lightning imported outside training/ and the allowed modules:\n" + "\n".join(
        wrong
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it (STYLE: under ~400)"


def test_the_rules_catch_a_violation(tmp_path):
    """The checks above can fail: a data module that imports the models is caught."""
    fake = tmp_path / "diarize"
    (fake / "data").mkdir(parents=True)
    (fake / "models").mkdir()
    (fake / "data" / "bad.py").write_text("import lightning\nfrom diarize.models import x\n")
    (fake / "models" / "ok.py").write_text("from diarize.data import y\n")
    globals()["PACKAGE"] = fake
    try:
        with pytest.raises(AssertionError, match="data imports diarize.models"):
            test_imports_flow_one_way()
        with pytest.raises(AssertionError):
            test_data_knows_no_model()
        with pytest.raises(AssertionError, match="bad.py:1"):
            test_lightning_only_where_allowed()
    finally:
        globals()["PACKAGE"] = PACKAGE_REAL


PACKAGE_REAL = PACKAGE


def test_the_inference_commands_start_without_plotting_or_scoring_libraries():
    """``diarize infer`` / ``stream`` load neither matplotlib (pyannote.core imports it),
    pyannote.metrics nor scipy.optimize before they need them: 2.6 s of start-up instead of
    5.3-5.9 s on this project's machine (a tiny file, whole command)."""
    code = (
        "import sys, diarize.cli.infer, diarize.cli.stream, diarize.inference.diarizer, "
        "diarize.inference.batch, diarize.inference.streaming\n"
        "from diarize.cli.main import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('matplotlib', 'pyannote.core', 'pyannote.metrics', "
        "'scipy.optimize') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
