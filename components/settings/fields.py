"""Declaring a setting: its config key, parser and documentation live on the dataclass field.

A field declared with `setting()` is read from `pulumi config` under the camelCase form
of its name (or an explicit `key`); one declared with `section()` is a nested object
(`moderation:caching`, ...) whose own fields are settings. The reader (`parse.py`), the
settings table in `docs/settings.md` and the example stack's completeness test all walk
these fields, so a setting exists in one place only.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from dataclasses import MISSING, Field, field, fields, is_dataclass
from types import UnionType
from typing import Any

NAMESPACE = "moderation"

Parser = Callable[[Any], Any]


class ConfigError(ValueError):
    """A stack setting is wrong. The message lists every problem and its fix."""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def setting(
    default: Any = MISSING,
    doc: str = "",
    *,
    key: str | None = None,
    parse: Parser | None = None,
    default_factory: Callable[[], Any] | None = None,
    default_doc: str | None = None,
) -> Any:
    """A scalar setting. `parse` defaults to one chosen from the field's annotation."""
    meta = {"kind": "setting", "doc": doc, "key": key, "parse": parse, "default_doc": default_doc}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def section(factory: Callable[[], Any], doc: str = "", *, key: str | None = None) -> Any:
    """A nested object of settings; its default is `factory()`."""
    return field(default_factory=factory, metadata={"kind": "section", "doc": doc, "key": key})


def internal(default: Any = MISSING, **kw: Any) -> Any:
    """A field the program fills in itself (not a config key)."""
    return field(default=default, metadata={"kind": "internal"}, **kw)


def kind(f: Field[Any]) -> str:
    return str(f.metadata.get("kind", "internal"))


def config_key(f: Field[Any]) -> str:
    return str(f.metadata.get("key") or camel(f.name))


def setting_fields(cls: type) -> list[Field[Any]]:
    """The fields of `cls` that are read from config (settings and sections)."""
    return [f for f in fields(cls) if kind(f) in ("setting", "section", "functions")]


def default_of(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


# --- parsers ------------------------------------------------------------------------------


def as_int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(v, float) and not v.is_integer():
        raise ValueError(f"expected an integer, got {v}")
    return int(v)


def as_float(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a number, got a boolean")
    return float(v)


def as_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {v!r}")


def as_str(v: Any) -> str:
    return str(v)


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip().lower() in ("", "null", "none"))


def as_opt_str(v: Any) -> str | None:
    return None if _is_null(v) else str(v).strip()


def as_opt_int(v: Any) -> int | None:
    return None if _is_null(v) else as_int(v)


def as_opt_float(v: Any) -> float | None:
    return None if _is_null(v) else as_float(v)


def as_str_tuple(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        text = v.strip()
        if text.startswith("["):
            v = json.loads(text)
        else:
            return tuple(p.strip() for p in text.split(",") if p.strip())
    if not isinstance(v, (list, tuple)):
        raise ValueError(f"expected a list of strings, got {v!r}")
    return tuple(str(p) for p in v)


def upper(v: Any) -> str:
    return str(v).strip().upper()


def lower(v: Any) -> str:
    return str(v).strip().lower()


_BY_TYPE: dict[Any, Parser] = {
    int: as_int,
    float: as_float,
    bool: as_bool,
    str: as_str,
    int | None: as_opt_int,
    float | None: as_opt_float,
    str | None: as_opt_str,
    tuple[str, ...]: as_str_tuple,
}


def parser_for(cls: type, f: Field[Any]) -> Parser:
    """The field's own parser, or the one its annotation implies."""
    explicit = f.metadata.get("parse")
    if explicit is not None:
        return typing.cast(Parser, explicit)
    hint = typing.get_type_hints(cls)[f.name]
    if isinstance(hint, UnionType) or hint in _BY_TYPE:
        parse = _BY_TYPE.get(hint)
        if parse is not None:
            return parse
    raise TypeError(f"{cls.__name__}.{f.name}: no parser for {hint!r}; pass parse=")


def section_type(cls: type, f: Field[Any]) -> type:
    hint = typing.get_type_hints(cls)[f.name]
    if not (isinstance(hint, type) and is_dataclass(hint)):
        raise TypeError(f"{cls.__name__}.{f.name} is a section but not a dataclass")
    return hint


def set_cmd(key: str, value: Any) -> str:
    """The command that sets `key` to `value`, for error messages."""
    if "." in key or "[" in key:
        return f"`pulumi config set --path {NAMESPACE}:{key} {value}`"
    return f"`pulumi config set {NAMESPACE}:{key} {value}`"
