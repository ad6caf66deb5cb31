"""Reading `moderation:*` config into StackSettings: every key, its type, unknown keys.

The reader walks the dataclass fields (`fields.py`), so a new setting needs no code
here. Every problem is collected before anything is raised, so one `pulumi preview`
lists all of them; validation of the values themselves is `validate.py`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from typing import Any

from components.settings.fields import (
    NAMESPACE,
    ConfigError,
    config_key,
    default_of,
    kind,
    parser_for,
    section_type,
    setting_fields,
)
from components.settings.model import DEFAULT_FUNCTIONS, FunctionSettings, StackSettings
from components.settings.validate import validate
from lambdas.common.contract import ALL_FUNCTIONS, Function


def known_keys() -> tuple[str, ...]:
    """The top-level `moderation:` keys of this program."""
    return tuple(sorted(config_key(f) for f in setting_fields(StackSettings)))


def _decode(raw: Any) -> Any:
    """Config values arrive as strings; objects and lists arrive as JSON text."""
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
    return raw


def _suggest(key: str, known: list[str], prefix: str) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {prefix}{close[0]}?" if close else ""


def read_section(
    cls: type, raw: Any, base: Any, path: str, errors: list[str], top_level: bool = False
) -> dict[str, Any]:
    """Parsed field values of `cls` from `raw`, starting from the instance `base`."""
    label = f"{NAMESPACE}:{path}" if path else NAMESPACE
    if not isinstance(raw, Mapping):
        errors.append(f"{label} must be an object.")
        raw = {}
    by_key = {config_key(f): f for f in setting_fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        value = _decode(value)
        dotted = f"{path}.{key}" if path else key
        f = by_key.get(key)
        if f is None:
            if top_level:
                errors.append(
                    f"{NAMESPACE}:{key} is not a setting of this program"
                    f"{_suggest(key, list(by_key), NAMESPACE + ':')} "
                    f"Remove it with `pulumi config rm {NAMESPACE}:{key}`."
                )
            else:
                errors.append(
                    f"{NAMESPACE}:{dotted} is not a setting{_suggest(key, list(by_key), '')} "
                    f"(known: {', '.join(by_key)})."
                )
            continue
        if value is None or value == "null":
            continue  # null keeps the default
        if kind(f) == "section":
            sub = section_type(cls, f)
            current = getattr(base, f.name) if base is not None else default_of(f)
            parsed = read_section(sub, value, current, dotted, errors)
            values[f.name] = dataclasses.replace(current, **parsed)
        elif kind(f) == "functions":
            values[f.name] = read_functions(value, errors)
        else:
            try:
                values[f.name] = parser_for(cls, f)(value)
            except (TypeError, ValueError) as exc:
                errors.append(f"{NAMESPACE}:{dotted} = {value!r} is not valid ({exc}).")
    return values


def read_functions(raw: Any, errors: list[str]) -> dict[str, FunctionSettings]:
    """`moderation:functions.<name>.{memory,timeout,reservedConcurrency}` over the defaults."""
    if not isinstance(raw, Mapping):
        errors.append(f"{NAMESPACE}:functions must be an object keyed by function name.")
        raw = {}
    for name in raw:
        if name not in DEFAULT_FUNCTIONS:
            errors.append(
                f"{NAMESPACE}:functions.{name} is not a function of this program "
                f"(known: {', '.join(ALL_FUNCTIONS)})."
            )
    out: dict[str, FunctionSettings] = {}
    for name, default in DEFAULT_FUNCTIONS.items():
        override = _decode(raw.get(name)) or {}
        if not isinstance(override, Mapping):
            errors.append(f"{NAMESPACE}:functions.{name} must be an object with memory/timeout.")
            override = {}
        keys = [config_key(f) for f in setting_fields(FunctionSettings)]
        unknown = [k for k in override if k not in keys]
        for k in unknown:
            errors.append(
                f"{NAMESPACE}:functions.{name}.{k} is not a function setting "
                f"(known: {', '.join(keys)})."
            )
        known = {k: v for k, v in override.items() if k in keys}
        parsed = read_section(FunctionSettings, known, default, f"functions.{name}", errors)
        out[name] = dataclasses.replace(default, **parsed)
    return out


def _format(errors: list[str]) -> str:
    lines = "\n".join(f"  - {e}" for e in errors)
    return f"invalid stack configuration ({len(errors)} problem(s)):\n{lines}"


def settings_from_mapping(stack: str, raw: Mapping[str, Any]) -> StackSettings:
    """Build and validate settings from `{camelCaseKey: value}` (namespace stripped).

    Raises ConfigError listing every problem at once, so one `pulumi preview` shows all fixes.
    """
    errors: list[str] = []
    values = read_section(StackSettings, raw, None, "", errors, top_level=True)
    values.setdefault("functions", dict(DEFAULT_FUNCTIONS))
    if "visibility_timeout_seconds" not in values:
        # The queue's visibility timeout follows the dispatcher's timeout unless set.
        values["visibility_timeout_seconds"] = 6 * values["functions"][Function.DISPATCHER].timeout
    if errors:
        raise ConfigError(_format(errors))
    settings = StackSettings(stack=stack, **values)
    errors = validate(settings)
    if errors:
        raise ConfigError(_format(errors))
    return settings


def configured_values(namespace: str = NAMESPACE) -> dict[str, Any]:
    """All `<namespace>:*` values of the running stack, namespace stripped."""
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {}
    for source in (runtime_config.get_config_env(), runtime_config.CONFIG.get()):
        for full_key, value in source.items():
            ns, _, key = full_key.partition(":")
            if ns == namespace and key:
                merged[key] = value
    return merged


def misplaced_keys(project: str, project_values: Mapping[str, Any]) -> list[str]:
    """Settings written under the project's namespace, which this program never reads.

    `pulumi config set KEY` without a namespace writes `<project>:KEY`; the settings are
    read from `moderation:` whatever the project is called, so a renamed project would
    silently ignore them.
    """
    if project == NAMESPACE:
        return []
    known = set(known_keys())
    return [
        f"{project}:{key} is a setting of this program but is read as {NAMESPACE}:{key}. "
        f"Move it: `pulumi config rm {project}:{key}` and "
        f"`pulumi config set {NAMESPACE}:{key} VALUE`."
        for key in sorted(project_values)
        if key in known
    ]


def load_settings() -> StackSettings:
    """Read the running stack's configuration and validate it."""
    import pulumi

    project = pulumi.get_project()
    misplaced = misplaced_keys(project, configured_values(project))
    if misplaced:
        raise ConfigError(_format(misplaced))
    return settings_from_mapping(pulumi.get_stack(), configured_values())
