"""Lambda code packages: the handler package plus `common/`, and a dependency layer.

A function's zip holds exactly its own handler package, the shared `common/` package,
its rule configuration (`function_config.json`, written from the stack's settings) and
the model files built for it (`models/`, from `.build/models/`); all of them are part
of the package's digest. Its third-party imports are listed, closure included and boto3
excluded (the runtime provides it), in `lambdas/<name>/requirements.txt`; versions come
from the project lock. With `dependencyLayer: build` they are installed for Lambda's
platform from pinned wheels into a per-function layer at deploy time and trimmed
(`function_package.py`); with `skip` (the local cloud and the tests) no layer is built
and the local cloud provides them from its own venv.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from components import function_package
from lambdas.common.contract import FUNCTION_CONFIG_FILE, MODELS_DIR

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


def config_text(config: dict[str, Any]) -> str:
    """The bytes of `function_config.json`: canonical, so equal rules give equal digests."""
    return json.dumps(config, sort_keys=True, separators=(",", ":")) + "\n"


def stage_function(
    name: str,
    extra_dirs: tuple[Path, ...] = (),
    config: dict[str, Any] | None = None,
    model_files: tuple[Path, ...] = (),
) -> Path:
    """Copy `lambdas/<name>`, `lambdas/common`, the configuration and the model files
    into a build directory named by their digest."""
    sources = (LAMBDAS / name, LAMBDAS / "common", *extra_dirs)
    for src in sources:
        if not src.is_dir():
            raise FileNotFoundError(f"function source {src} does not exist")
    for model in model_files:
        if not model.is_file():
            raise FileNotFoundError(
                f"model file {model} for {name} does not exist: run `make models`"
            )
    h = hashlib.sha256(_tree_digest(*sources).encode())
    if config is not None:
        h.update(config_text(config).encode())
    for model in model_files:
        h.update(model.name.encode())
        h.update(model.read_bytes())
    out = BUILD / "functions" / f"{name}-{h.hexdigest()[:16]}"
    if not out.exists():
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for src in sources:
            _copy_tree(src, tmp / src.name)
        if config is not None:
            (tmp / FUNCTION_CONFIG_FILE).write_text(config_text(config))
        for model in model_files:
            (tmp / MODELS_DIR).mkdir(exist_ok=True)
            shutil.copy2(model, tmp / MODELS_DIR / model.name)
            provenance = model.with_suffix(".json")
            if provenance.is_file():
                shutil.copy2(provenance, tmp / MODELS_DIR / provenance.name)
        try:
            tmp.rename(out)
        except OSError:
            # Another process staged the same digest first; its copy is identical.
            shutil.rmtree(tmp, ignore_errors=True)
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
    trim = "\n".join(function_package.TRIM)
    key = hashlib.sha256(
        "\n".join([*sorted(names), architecture, RUNTIME, lock, trim]).encode()
    ).hexdigest()[:16]
    out = BUILD / "deps" / f"{architecture}-{key}"
    if (out / ".complete").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        RUNTIME_VERSION,
        "--target",
        str(out / target_subdir),
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
    function_package.trim(out / target_subdir)
    (out / ".complete").write_text("ok\n")
    return out


# --- Lambda@Edge ---------------------------------------------------------------------------
#
# A Lambda@Edge function has no layers and no environment variables, and a viewer-request
# function's zip must stay under 1 MB. So its package is self-contained: the handler
# package, its configuration as a JSON file, and its third-party imports vendored from
# the project's own environment (pure-Python distributions only, at the lock's versions:
# a pure wheel is the same on every platform, so no download is needed).

EDGE_VIEWER_ZIP_LIMIT = 1024 * 1024
EDGE_CONFIG_FILE = "config.json"

# Left out of vendored distributions: tests, caches, and python-jose's cryptography
# backend, so jose can only ever select its pure-Python `rsa` backend.
_VENDOR_SKIP_PARTS = {"__pycache__", "tests", "test"}
_VENDOR_SKIP_FILES = {"jose/backends/cryptography_backend.py"}
_DIST_INFO_SKIP = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class PackageTooLarge(RuntimeError):
    """A Lambda@Edge package would be refused by CloudFront."""


class NotPurePython(RuntimeError):
    """A Lambda@Edge dependency has compiled parts and cannot be vendored as is."""


def _locked_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    if LOCK.exists():
        for line in LOCK.read_text().splitlines():
            name, sep, version = line.split("#", 1)[0].strip().partition("==")
            if sep:
                pins[_canonical(name)] = version.strip()
    return pins


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def vendor_pure_python(names: list[str], target: Path) -> dict[str, str]:
    """Copy the installed files of `names` into `target`; return {name: version}.

    Refuses a distribution with compiled parts (it would not be portable to Lambda's
    platform) or one whose installed version differs from the lock.
    """
    from importlib import metadata

    pins = _locked_versions()
    versions: dict[str, str] = {}
    for name in names:
        dist = metadata.distribution(name)
        wheel = dist.read_text("WHEEL") or ""
        if "Root-Is-Purelib: true" not in wheel:
            raise NotPurePython(f"{name} is not a pure-Python distribution")
        pinned = pins.get(_canonical(name))
        if pinned and pinned != dist.version:
            raise RuntimeError(
                f"{name} {dist.version} is installed but the lock pins {pinned}: run `make setup`"
            )
        versions[name] = dist.version
        for file in dist.files or ():
            rel = Path(str(file))
            if rel.parts[0].startswith("..") or any(p in _VENDOR_SKIP_PARTS for p in rel.parts):
                continue
            if rel.suffix in (".pyc", ".pyo") or rel.as_posix() in _VENDOR_SKIP_FILES:
                continue
            if rel.name.startswith("test_") or (
                rel.parts[0].endswith(".dist-info") and rel.name in _DIST_INFO_SKIP
            ):
                continue
            source = Path(str(dist.locate_file(file)))
            if not source.is_file():
                continue
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
    return versions


def zip_directory(src: Path, dest: Path) -> int:
    """A reproducible zip of `src` (sorted entries, fixed timestamps); returns its size."""
    import zipfile

    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(
                path.relative_to(src).as_posix(), date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    tmp.replace(dest)
    return dest.stat().st_size


class EdgePackage:
    """A built Lambda@Edge package: the directory Pulumi archives and its measured zip."""

    def __init__(self, directory: Path, zip_path: Path, versions: dict[str, str]) -> None:
        self.directory = directory
        self.zip_path = zip_path
        self.zipped_bytes = zip_path.stat().st_size
        self.versions = versions


def build_edge_function(
    name: str, config: dict[str, Any], limit: int = EDGE_VIEWER_ZIP_LIMIT
) -> EdgePackage:
    """Build `lambdas/<name>` with `config` baked in as `<name>/config.json`.

    Raises PackageTooLarge, naming the size and the limit, when the zip is not under
    `limit` (1 MB for viewer triggers), so `pulumi preview` fails before CloudFront would.
    """
    src = LAMBDAS / name
    if not src.is_dir():
        raise FileNotFoundError(f"function source {src} does not exist")
    deps = requirements(name)
    config_text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    h = hashlib.sha256()
    h.update(_tree_digest(src).encode())
    h.update(config_text.encode())
    h.update("\n".join(deps).encode())
    h.update("\n".join(f"{k}={v}" for k, v in sorted(_locked_versions().items())).encode())
    out = BUILD / "edge" / f"{name}-{h.hexdigest()[:16]}"
    zip_path = out.with_name(out.name + ".zip")
    # Written last: its presence means the directory and the zip are complete.
    manifest = out.with_name(out.name + ".manifest.json")
    if not manifest.exists():
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _copy_tree(src, tmp / name)
        (tmp / name / EDGE_CONFIG_FILE).write_text(config_text + "\n")
        versions = vendor_pure_python(deps, tmp)
        if manifest.exists():  # another process built the same package meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(out, ignore_errors=True)
            tmp.rename(out)
            zip_directory(out, zip_path)
            manifest.write_text(json.dumps({"vendored": versions}, sort_keys=True) + "\n")
    versions = json.loads(manifest.read_text())["vendored"]
    package = EdgePackage(out, zip_path, versions)
    if package.zipped_bytes >= limit:
        raise PackageTooLarge(
            f"the Lambda@Edge package for {name} is {package.zipped_bytes} bytes zipped "
            f"({zip_path}); viewer-request functions must be under {limit} bytes (1 MB). "
            "Vendor fewer or smaller pure-Python dependencies."
        )
    return package
