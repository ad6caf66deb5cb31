"""The environment a function runs with, read once per execution environment.

Names come from `contract.Env`. Each function reads only what it uses; a missing
variable fails loudly at first use rather than with a KeyError deep in a handler.
"""

from __future__ import annotations

import os


class MissingSetting(RuntimeError):
    """A variable the function needs was not declared for it."""


def require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSetting(f"environment variable {name} is not set for this function")
    return value


def optional(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value else default


def number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def integer(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def flag(name: str, default: bool = False) -> bool:
    """A boolean variable: `true` or `false` (as the program writes them)."""
    value = os.environ.get(name)
    if not value:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def words(name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = os.environ.get(name)
    if not value:
        return default
    return tuple(w.strip() for w in value.split(",") if w.strip())
