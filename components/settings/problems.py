"""The problems a stack's settings have: what every check in `validate*.py` records."""

from __future__ import annotations


class Problems(list[str]):
    """The problems found so far; `need` records `msg` when `cond` is false."""

    def need(self, cond: bool, msg: str) -> None:
        if not cond:
            self.append(msg)
