"""Where each value comes from: defaults in code, then config.yaml, then the environment.

Two pydantic-settings sources read what the sections declare (see :func:`channels.config.setting`): the
YAML file, keeping the line of every key so a refusal can name it, and the environment variables the keys
declare, nothing else. Both record the origin of each value they give, for errors and ``sambat config check``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from router.config import SAFE_LOADER

Key = tuple[str | int, ...]


class ConfigError(Exception):
    """One or more settings are missing or wrong; the message names each key and where its value came from."""


@dataclass
class Origins:
    """The origin of every value given, by key path: ``config.yaml line 12`` or ``SAMBAT_TIMEZONE``."""

    path: str
    lines: dict[Key, int] = field(default_factory=dict)  # key path -> line in the file
    environment: dict[Key, str] = field(default_factory=dict)  # key path -> environment variable
    overrides: set[Key] = field(default_factory=set)

    def of(self, key: Key, exact: bool = False) -> str:
        """Where the value at ``key`` (or, unless ``exact``, the nearest enclosing key given) came from."""
        for end in range(len(key), len(key) - 1 if exact else 0, -1):
            prefix = key[:end]
            if prefix in self.environment:
                return self.environment[prefix]
            if prefix in self.overrides:
                return "overrides"
            if prefix in self.lines:
                return f"{self.path} line {self.lines[prefix]}"
        return "default"


def declared(model: type[BaseModel], prefix: Key = ()) -> Iterator[tuple[Key, str, FieldInfo]]:
    """Every key of a settings model, nested sections walked: (key path, name in the file, field)."""
    for name, info in model.model_fields.items():
        key = (*prefix, info.alias or name)
        section = _section_type(info.annotation)
        if section is not None:
            yield from declared(section, key)
        else:
            yield key, info.alias or name, info


def _section_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        return None
    return next((a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)), None)


def extra(info: FieldInfo, name: str) -> Any:
    """A declaration made with :func:`channels.config.setting` (``env``, ``file``)."""
    schema = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return schema.get(name, True if name == "file" else None)


def read_config(path: str) -> str:
    """The text of the config file.

    Raises:
        ConfigError: naming SAMBAT_CONFIG when the file cannot be read.
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"SAMBAT_CONFIG: config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"SAMBAT_CONFIG: cannot read {path}: {exc.strerror}") from None


def parse_config(text: str, path: str) -> tuple[dict[str, Any], dict[Key, int]]:
    """The config file as a mapping, and the line of every key in it.

    Raises:
        ConfigError: for text that is not YAML or not a mapping, naming the line.
    """
    try:
        loader = SAFE_LOADER(text)  # parsed once: the nodes give the lines, the document is built from them
        try:
            node = loader.get_single_node()
            document = (loader.construct_document(node) if node is not None else None) or {}
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None:
            problem += f" ({context} at line {start.line + 1})"
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    lines: dict[Key, int] = {}
    _walk_lines(node, (), lines)
    return document, lines


def _walk_lines(node: yaml.Node | None, key: Key, lines: dict[Key, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*key, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            _walk_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*key, index)] = item.start_mark.line + 1
            _walk_lines(item, (*key, index), lines)


class FileSource(PydanticBaseSettingsSource):
    """config.yaml, already parsed; keys that only the environment may set are refused by name."""

    def __init__(self, settings_cls: type[BaseSettings], document: dict[str, Any], origins: Origins,
                 problems: list[str]) -> None:
        super().__init__(settings_cls)
        self.document, self.origins, self.problems = document, origins, problems

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False  # unused: __call__ gives the whole document at once

    def __call__(self) -> dict[str, Any]:
        self._refuse_unknown(self.settings_cls, self.document, ())
        for key, name, info in declared(self.settings_cls):
            if not extra(info, "file") and _get(self.document, key) is not _MISSING:
                variable = extra(info, "env")
                what = "secrets are read from the environment only" if _is_secret(info) else \
                    "set by the environment only"
                line = self.origins.lines.get(key)
                where = f"{self.origins.path} line {line}" if line else self.origins.path
                self.problems.append(f"{where}: {'.'.join(map(str, key))}: {what} ({variable}), not config.yaml")
                _drop(self.document, key)
        return self.document


    def _refuse_unknown(self, model: type[BaseModel], document: Any, prefix: Key) -> None:
        """Drop each key no section declares, with a problem naming it and the nearest known key."""
        if not isinstance(document, dict):
            return
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        for name in list(document):
            info = fields.get(name)
            if info is None:
                key = (*prefix, name)
                line = self.origins.lines.get(key)
                where = f"{self.origins.path} line {line}" if line else self.origins.path
                hint = suggest(name, model)
                self.problems.append(f"{where}: {'.'.join(map(str, key))}: unknown key; {hint}")
                del document[name]
                continue
            section = _section_type(info.annotation)
            if section is not None:
                self._refuse_unknown(section, document[name], (*prefix, name))


class EnvironmentSource(PydanticBaseSettingsSource):
    """The environment variables the keys declare, and no others; blank ones count as unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str], origins: Origins) -> None:
        super().__init__(settings_cls)
        self.environ, self.origins = environ, origins

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False  # unused: __call__ gives every declared variable at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, _, info in declared(self.settings_cls):
            variable = extra(info, "env")
            raw = self.environ.get(variable) if variable else None
            if raw is None or raw.strip() == "":
                continue
            _put(values, key, raw.strip())
            self.origins.environment[key] = variable
        return values


def suggest(key: str | int, model: type[BaseModel]) -> str:
    """``did you mean provider?`` for a misspelt key of ``model``, else the keys config.yaml may set there."""
    known = sorted(info.alias or name for name, info in model.model_fields.items() if extra(info, "file"))
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else f"known keys: {', '.join(known)}"


def field_name(model: type[BaseModel], key: str) -> str:
    """The Python name of a key as config.yaml spells it (``from`` is ``sender``)."""
    return next((name for name, info in model.model_fields.items() if (info.alias or name) == key), key)


def _is_secret(info: FieldInfo) -> bool:
    return "Secret" in str(info.annotation)


_MISSING = object()


def _get(document: Any, key: Key) -> Any:
    for part in key:
        if not isinstance(document, dict) or part not in document:
            return _MISSING
        document = document[part]
    return document


def _drop(document: dict[str, Any], key: Key) -> None:
    for part in key[:-1]:
        document = document[part]
    document.pop(key[-1], None)


def _put(values: dict[str, Any], key: Key, value: Any) -> None:
    for part in key[:-1]:
        values = values.setdefault(part, {})
    values[key[-1]] = value


def deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` laid over it, mappings merged key by key (a new dict; inputs untouched)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged
