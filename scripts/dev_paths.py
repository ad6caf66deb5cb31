"""Put the repository and `lambdas/` on the venv's import path, once (a `.pth` file).

Handler code imports `common` as it does in its Lambda code directory, and the program,
the local cloud, the dashboard, the benchmarks and the tests import the project's
packages from the repository root. `make setup` runs this; nothing else edits sys.path.
The local cloud's execution environments run without site-packages (`python -I -S`), so
a function sees only its own package and layer (`local/runtime/environment.py`).
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PTH_NAME = "moderation-project.pth"
PATHS = (ROOT, ROOT / "lambdas")


def main() -> None:
    target = Path(sysconfig.get_path("purelib")) / PTH_NAME
    target.write_text("".join(f"{p}\n" for p in PATHS))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
