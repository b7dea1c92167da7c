"""Command line for the training script: ``CONFIG.yaml`` gives values, ``--key value`` flags override.

Every field of the argument dataclasses is a flag ``--field``; a flag's value is read as YAML, so
``--max_steps 4``, ``--freeze_feature_encoder false``, ``--model_config '{hidden_size: 64}'`` and
``--resume_from_checkpoint latest`` all work. A bare boolean flag (``--group_by_length``) means true.
A mapping given on the command line updates the file's mapping key by key (``--model_config
'{hidden_dropout: 0.1}'`` keeps the other model settings). Unknown keys are errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration value or key that the argument dataclasses do not accept."""


def _yaml_value(text: str) -> Any:
    return yaml.safe_load(text)


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against ``annotation`` (int accepted for float; None for optional fields)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(name, value, option)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError("; ".join(errors))
    base = origin or annotation
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base is float and isinstance(value, str):  # YAML reads 2e-3 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if base is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if base is Any or (isinstance(value, base) and not (base is int and isinstance(value, bool))):
        return value
    raise ConfigError(f"{name}: expected {getattr(base, '__name__', base)}, got {value!r}")


def parse_config(
    dataclass_types: tuple[type, ...],
    argv: list[str] | None = None,
    prog: str | None = None,
    description: str | None = None,
) -> tuple:
    """Parse ``CONFIG.yaml [--key value ...]`` into one instance of each dataclass type."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("config", type=Path, help="YAML file with the values of the fields below")
    owners: dict[str, tuple[type, dataclasses.Field]] = {}
    for dtype in dataclass_types:
        group = parser.add_argument_group(dtype.__name__, (dtype.__doc__ or "").strip())
        hints = typing.get_type_hints(dtype)
        for field in dataclasses.fields(dtype):
            owners[field.name] = (dtype, field)
            is_bool = hints[field.name] in (bool, bool | None)
            group.add_argument(
                f"--{field.name}",
                type=_yaml_value,
                default=argparse.SUPPRESS,
                nargs="?" if is_bool else None,
                const=True if is_bool else None,
                metavar="BOOL" if is_bool else "VALUE",
                help=field.metadata.get("help", ""),
            )
    namespace = vars(parser.parse_args(argv))
    config_path: Path = namespace.pop("config")
    try:
        values = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        parser.error(f"cannot read {config_path}: {error}")
    if not isinstance(values, dict):
        parser.error(f"{config_path}: expected a mapping of keys to values")
    unknown = sorted(set(values) - set(owners))
    if unknown:
        parser.error(f"{config_path}: unknown keys {unknown}")
    for key, value in namespace.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            value = {**values[key], **value}
        values[key] = value
    instances = []
    try:
        for dtype in dataclass_types:
            hints = typing.get_type_hints(dtype)
            kwargs = {
                f.name: _coerce(f.name, values[f.name], hints[f.name])
                for f in dataclasses.fields(dtype)
                if f.name in values
            }
            instances.append(dtype(**kwargs))
    except (ConfigError, ValueError) as error:
        parser.error(str(error))
    return tuple(instances)


def to_dict(*instances: Any) -> dict[str, Any]:
    """Merge dataclass instances into one flat ``{field: value}`` dict (as a YAML config file holds it)."""
    merged: dict[str, Any] = {}
    for instance in instances:
        merged.update(dataclasses.asdict(instance))
    return merged
