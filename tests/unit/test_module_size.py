"""No product module over 600 lines: a module that grows past it is split along what it
holds (as `dashboard/data/cost.py` and `components/settings/validate.py` were).

Product code is lambdas/, components/, dashboard/, local/ and scripts/; benchmarks
(bench/) and tests are not held to it.
"""

from pathlib import Path

from tests.support.paths import ROOT

MAX_LINES = 600
PRODUCT = ("lambdas", "components", "dashboard", "local", "scripts")


def too_long(paths: list[Path], limit: int = MAX_LINES) -> list[str]:
    """`file: N lines` for each file over `limit` lines."""
    out = []
    for path in paths:
        lines = len(path.read_text().splitlines())
        if lines > limit:
            out.append(f"{path.relative_to(ROOT).as_posix()}: {lines} lines (at most {limit})")
    return out


def product_modules() -> list[Path]:
    return sorted(p for top in PRODUCT for p in (ROOT / top).rglob("*.py"))


def test_no_product_module_is_over_600_lines():
    modules = product_modules()
    assert len(modules) > 100
    offences = too_long(modules)
    assert not offences, "split these along what they hold:\n" + "\n".join(offences)


def test_the_check_names_a_long_module():
    long = ROOT / "tests" / "unit" / "test_module_size.py"
    assert too_long([long], limit=5) == [
        f"tests/unit/test_module_size.py: {len(long.read_text().splitlines())} lines (at most 5)"
    ]
    assert too_long([long]) == []
