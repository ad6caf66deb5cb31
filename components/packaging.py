"""Lambda code packages: the handler package plus `common/`, and a dependency layer.

A function's zip holds exactly its own handler package and the shared `common/`
package. Its third-party imports are listed, closure included and boto3 excluded
(the runtime provides it), in `lambdas/<name>/requirements.txt`; versions come from
the project lock. With `dependencyLayer: build` they are installed for Lambda's
platform into a per-function layer at deploy time; with `skip` (the local cloud and
the tests) no layer is built and the local cloud provides them from its own venv.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = ROOT / "lambdas"
BUILD = ROOT / ".build"
LOCK = ROOT / "requirements.txt"
RUNTIME = "python3.12"
RUNTIME_VERSION = "3.12"

_SKIP = {"__pycache__", "requirements.txt", ".pytest_cache"}


def _copy_tree(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in _SKIP for part in rel.parts) or path.suffix == ".pyc":
            continue
        target = dst / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _tree_digest(*dirs: Path) -> str:
    h = hashlib.sha256()
    for base in dirs:
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base)
            if path.is_file() and not any(p in _SKIP for p in rel.parts) and path.suffix != ".pyc":
                h.update(f"{base.name}/{rel}".encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def stage_function(name: str, extra_dirs: tuple[Path, ...] = ()) -> Path:
    """Copy `lambdas/<name>` and `lambdas/common` into a clean build directory."""
    sources = (LAMBDAS / name, LAMBDAS / "common", *extra_dirs)
    for src in sources:
        if not src.is_dir():
            raise FileNotFoundError(f"function source {src} does not exist")
    digest = _tree_digest(*sources)
    out = BUILD / "functions" / f"{name}-{digest}"
    if not out.exists():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for src in sources:
            _copy_tree(src, tmp / src.name)
        tmp.rename(out)
    return out


def requirements(name: str) -> list[str]:
    path = LAMBDAS / name / "requirements.txt"
    if not path.exists():
        return []
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln]


def _platforms(architecture: str) -> list[str]:
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    return [f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"]


def build_dependencies(names: list[str], architecture: str, target_subdir: str = "python") -> Path:
    """Install `names` (pinned by the lock, no transitive resolution) for Lambda's platform.

    Returns the directory to archive. Cached by content, so repeated previews are free.
    """
    lock = LOCK.read_text() if LOCK.exists() else ""
    key = hashlib.sha256(
        "\n".join([*sorted(names), architecture, RUNTIME, lock]).encode()
    ).hexdigest()[:16]
    out = BUILD / "deps" / f"{architecture}-{key}"
    if (out / ".complete").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", RUNTIME_VERSION,
        "--target", str(out / target_subdir),
    ]
    for platform in _platforms(architecture):
        cmd += ["--platform", platform]
    if LOCK.exists():
        cmd += ["-c", str(LOCK)]
    cmd += names
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"building the Lambda dependencies {names} for {architecture} failed:\n"
            f"{result.stderr.strip()}\nSet `pulumi config set moderation:dependencyLayer skip` "
            "only for local runs."
        )
    for cache in (out / target_subdir).rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    (out / ".complete").write_text("ok\n")
    return out
