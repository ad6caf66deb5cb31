"""The settings table of `docs/settings.md`, generated from the dataclass fields.

`python -m scripts.gen_docs` writes it; a test fails when the committed page differs,
so the table cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import MISSING, Field
from typing import Any

from components.settings.fields import NAMESPACE, config_key, default_of, kind, setting_fields
from components.settings.model import DEFAULT_FUNCTIONS, FunctionSettings, StackSettings


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[]`" if not value else ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


def _rows(cls: type, path: str, base: Any) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for f in setting_fields(cls):
        key = f"{path}.{config_key(f)}" if path else config_key(f)
        current = getattr(base, f.name) if base is not None else default_of(f)
        if kind(f) == "section":
            rows.extend(_rows(type(current), key, current))
        elif kind(f) == "functions":
            rows.extend(_function_rows())
        else:
            rows.append((key, _default_text(f, current), str(f.metadata.get("doc", ""))))
    return rows


def _default_text(f: Field[Any], value: Any) -> str:
    shown = f.metadata.get("default_doc")
    if shown:
        return str(shown)
    return "—" if value is MISSING else _show(value)


def _function_rows() -> list[tuple[str, str, str]]:
    return [
        (f"functions.<name>.{config_key(f)}", "per function, below", str(f.metadata["doc"]))
        for f in setting_fields(FunctionSettings)
    ]


def functions_table() -> str:
    """Markdown: each function's default memory, timeout and reserved concurrency."""
    keys = [config_key(f) for f in setting_fields(FunctionSettings)]
    lines = ["| Function | " + " | ".join(f"`{k}`" for k in keys) + " |", "|---" * 4 + "|"]
    for name, fs in DEFAULT_FUNCTIONS.items():
        cells = [_show(getattr(fs, f.name)) for f in setting_fields(FunctionSettings)]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def settings_table() -> str:
    """Markdown: every `moderation:` key, its default and what it does."""
    lines = ["| Setting | Default | Meaning |", "|---|---|---|"]
    for key, default, doc in _rows(StackSettings, "", None):
        lines.append(f"| `{NAMESPACE}:{key}` | {default} | {doc} |")
    return "\n".join(lines) + "\n"


def all_keys() -> list[str]:
    """Every leaf key (`caching.engine`, `functions.<name>.memory`, ...)."""
    return [key for key, _, _ in _rows(StackSettings, "", None)]
