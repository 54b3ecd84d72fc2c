"""The one config loader: YAML files and ``key=value`` overrides onto typed dataclasses.

Every settings file of the project (training runs, the simulator, long-form inference,
post-processing) is read here, so all of them fail the same way: in one line, naming the file
(and its line for malformed YAML) and the key. The schema is a dataclass; OmegaConf's
structured configs reject unknown keys and values of the wrong type while merging::

    config = load_config(TrainConfig, ["conf/train.yaml"], ["trainer.max_steps=10"])
    settings = to_object(config, "conf/train.yaml")  # a TrainConfig instance
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from diarize.errors import DiarizeError, located

T = TypeVar("T")
COMMAND_LINE = "command line"


def load_config(
    schema: type,
    files: Sequence[str | Path] = (),
    overrides: Sequence[str] = (),
    section: str | None = None,
) -> DictConfig:
    """The defaults of ``schema``, then each YAML file in order, then the overrides.

    Args:
        schema: a dataclass whose fields (and their types) are the only keys allowed.
        files: YAML files, each a mapping of keys (later files win).
        overrides: ``key=value`` items (OmegaConf dotlist; values are parsed as YAML).
        section: read only this top-level block of each file when it has one
            (``longform:`` of an inference settings file), else the whole file.

    Raises:
        DiarizeError: one line naming the file (and line) or the override, and the key.
    """
    config = OmegaConf.structured(schema)
    OmegaConf.set_readonly(config, False)  # frozen dataclasses are merged into, not changed
    for path in files:
        data = read_yaml(path)
        if section is not None and section in data:
            data = data[section]
            if not isinstance(data, DictConfig):
                raise DiarizeError(f"{path}: '{section}:' must hold a mapping of keys")
        config = merge(config, data, str(path))
    if overrides:
        config = merge(config, parse_overrides(overrides), COMMAND_LINE)
    return config


def read_yaml(path: str | Path) -> DictConfig:
    """A YAML file as a DictConfig (untyped).

    Raises:
        DiarizeError: ``path:line: malformed YAML (...)``, a missing file, or a file that is not
            a mapping.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        reason = "is a folder, not a config file" if path.is_dir() else "config file not found"
        raise DiarizeError(f"{path}: {reason}")
    try:
        loaded = OmegaConf.load(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or first_line(error)
        raise located(
            path, mark.line + 1 if mark else None, f"malformed YAML ({problem})"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DiarizeError(f"{path}: cannot read config: {first_line(error)}") from None
    except OmegaConfBaseException as error:  # e.g. a key that is not a string
        raise DiarizeError(f"{path}: {first_line(error)}") from None
    if loaded is None or loaded == []:
        return OmegaConf.create({})  # an empty file changes nothing
    if not isinstance(loaded, DictConfig):
        raise DiarizeError(f"{path}: a config file must hold a mapping of keys")
    return loaded


def parse_overrides(overrides: Sequence[str]) -> DictConfig:
    """``["a.b=1", "c=[1,2]"]`` as a DictConfig.

    Raises:
        DiarizeError: an item without ``=`` or with a value that is not YAML.
    """
    for item in overrides:
        key = item.partition("=")[0]
        if "=" not in item or not key.strip():
            raise DiarizeError(f"{COMMAND_LINE}: override {item!r}: expected key=value")
    try:
        return OmegaConf.from_dotlist(list(overrides))
    except Exception as error:  # yaml and OmegaConf errors alike
        raise DiarizeError(f"{COMMAND_LINE}: {first_line(error)}") from None


def merge(base: DictConfig, update: DictConfig, where: str) -> DictConfig:
    """``update`` merged onto ``base``; ``where`` (a file, or "command line") names the source.

    Raises:
        DiarizeError: ``where: unknown config key 'a.b'`` or ``where: bad value for 'a.b': ...``.
    """
    try:
        return OmegaConf.merge(base, update)
    except OmegaConfBaseException as error:
        raise DiarizeError(f"{where}: {describe(error)}") from None


def to_object(config: DictConfig, where: str = "config") -> Any:
    """The dataclass instance of a structured config (its ``__post_init__`` checks run here).

    Raises:
        DiarizeError: a value the dataclass refuses, prefixed by ``where``.
    """
    try:
        return OmegaConf.to_object(config)
    except OmegaConfBaseException as error:
        raise DiarizeError(f"{where}: {describe(error)}") from None
    except (DiarizeError, ValueError, TypeError) as error:
        raise DiarizeError(f"{where}: {first_line(error)}") from None


def missing_keys(config: DictConfig) -> list[str]:
    """Keys still ``???`` (mandatory and not given), sorted."""
    return sorted(OmegaConf.missing_keys(config))


def describe(error: OmegaConfBaseException) -> str:
    """OmegaConf's multi-line message as one line that names the key."""
    key = getattr(error, "full_key", None) or getattr(error, "key", None)
    reason = first_line(error)
    if "ConfigKeyError" in type(error).__name__ or ("Key '" in reason and "not in" in reason):
        return f"unknown config key '{key}'" if key else reason
    return f"bad value for '{key}': {reason}" if key else reason


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
