"""Lambda code packages: the handler package plus `common/`, and a dependency layer.

A function's zip holds exactly its own handler package, the shared `common/` package,
its rule configuration (`function_config.json`, written from the stack's settings) and
the model files built for it (`models/`, from `.build/models/`); all of them are part
of the package's digest.

What goes into a function's dependency layer is defined once, here, for AWS and the
local cloud alike (`layer_requirements`, `function_package.trim_layer`): the third-party
imports listed, closure included, in `lambdas/<name>/requirements.txt`, what an optional
component adds, and the AWS SDK (`SDK`: the runtime's copy is whatever version Lambda
ships, and S3 conditional writes need a botocore from August 2024 or later), each at the
project lock's version, trimmed of what never runs (botocore's models down to the
services the package's code calls). With `dependencyLayer: build` the layer is installed
for Lambda's platform from pinned wheels at deploy time (`build_dependencies`); with
`host` (the local cloud) the same distributions are taken for this machine from the
project venv, which `make setup` installed from the same lock (`build_host_layer`); with
`skip` (the program's tests) no layer is built.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Sequence
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


# The AWS SDK and its dependency closure (tests/unit/test_layers.py checks it against the
# installed distributions' metadata), packaged into every function's layer.
SDK = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")


def layer_requirements(name: str, extra: Sequence[str] = ()) -> list[str]:
    """What goes into a function's dependency layer: its `requirements.txt`, what an optional
    component adds (`FunctionSpec.extra_requirements`), and the AWS SDK; each once."""
    out: list[str] = []
    for dist in (*requirements(name), *extra, *SDK):
        if _canonical(dist) not in {_canonical(d) for d in out}:
            out.append(dist)
    return out


# The factory every client of the functions' code is made by (`common/clients.py`): the
# one place a service name may be a variable.
CLIENT_FACTORY = LAMBDAS / "common" / "clients.py"


class UnknownService(RuntimeError):
    """A client whose service cannot be read from the code (the layer would lack its model)."""


def _client_calls(path: Path) -> tuple[tuple[int, str | None], ...]:
    """(line, service or None when not a literal) of each `client(...)`, `x.client(...)`,
    `x.resource(...)` call in one source file."""
    stat = path.stat()
    return _parsed_client_calls(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parsed_client_calls(
    path: Path, _mtime_ns: int, _size: int
) -> tuple[tuple[int, str | None], ...]:
    return tuple(_find_client_calls(path))


def _find_client_calls(path: Path) -> Iterable[tuple[int, str | None]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called not in ("client", "resource", "s3_presigner"):
            continue
        if called == "s3_presigner":
            yield node.lineno, "s3"
            continue
        first = node.args[0] if node.args else None
        for kw in node.keywords:
            if kw.arg == "service_name":
                first = kw.value
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield node.lineno, first.value
        else:
            yield node.lineno, None


def sdk_services(sources: Sequence[Path]) -> list[str]:
    """The AWS services the code under `sources` makes clients for, read from the source.

    Raises UnknownService for a client whose service is not a string literal (outside the
    factory that passes its caller's literal on): the layer keeps only the services named
    here, so such a client would fail on AWS for want of its service model.
    """
    services: set[str] = set()
    for base in sources:
        for path in sorted(base.rglob("*.py")):
            if any(p in _SKIP for p in path.relative_to(base).parts):
                continue
            for line, service in _client_calls(path):
                if service is not None:
                    services.add(service)
                elif path.resolve() != CLIENT_FACTORY.resolve():
                    raise UnknownService(
                        f"{path}:{line} makes an AWS client whose service is not a string "
                        "literal; the dependency layer keeps only the services the code names "
                        "(components/packaging.py sdk_services). Name the service literally."
                    )
    return sorted(services)


def function_services(name: str, extra_dirs: Sequence[Path] = ()) -> list[str]:
    """The services a function's package calls: its handler package and `common/`."""
    return sdk_services([LAMBDAS / name, LAMBDAS / "common", *extra_dirs])


def _platforms(architecture: str) -> list[str]:
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    return [f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"]


def _layer_key(names: Sequence[str], services: Sequence[str], *platform: str) -> str:
    lock = LOCK.read_text() if LOCK.exists() else ""
    trim = "\n".join(function_package.TRIM)
    return hashlib.sha256(
        "\n".join(
            [*sorted(names), "services:", *sorted(services), *platform, RUNTIME, lock, trim]
        ).encode()
    ).hexdigest()[:16]


def build_dependencies(
    names: list[str],
    architecture: str,
    target_subdir: str = "python",
    services: Sequence[str] | None = None,
) -> Path:
    """Install `names` (pinned by the lock, no transitive resolution) for Lambda's platform.

    `services`: the botocore service models to keep (None keeps all). Returns the directory
    to archive. Cached by content, so repeated previews are free.
    """
    key = _layer_key(names, services or ["*"], architecture)
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
    function_package.trim_layer(out / target_subdir, services)
    (out / ".complete").write_text("ok\n")
    return out


class NotLocked(RuntimeError):
    """A layer distribution is missing from the venv or differs from the lock."""


def host_platform() -> str:
    return f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"


def build_host_layer(
    names: list[str], services: Sequence[str] | None = None, target_subdir: str = "python"
) -> Path:
    """The same layer as `build_dependencies`, for this machine (the local cloud).

    Each distribution's installed files (its RECORD) are hard-linked from the project venv,
    which `make setup` installs from the lock's pinned wheels with `--no-deps`: the same
    wheels, for the host platform, with no second download and no second copy on disk.
    A distribution the venv lacks, or holds at another version than the lock, fails the
    build. Trimmed as Lambda's layer is, except that the bytecode pip compiled is linked
    too (the workers run with `-B`, so a cold start reads it instead of compiling);
    cached by content.
    """
    key = _layer_key(names, services or ["*"], host_platform(), "with-bytecode")
    out = BUILD / "host-layers" / key
    if (out / ".complete").exists():
        return out
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    link_installed(names, tmp / target_subdir, bytecode=True)
    function_package.trim_layer(tmp / target_subdir, services, keep_bytecode=True)
    (tmp / ".complete").write_text("ok\n")
    try:
        tmp.rename(out)
    except OSError:
        # Another process built the same layer first; its content is identical.
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _link(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:  # another filesystem, or links not allowed: a copy has the same bytes
        shutil.copyfile(source, dest)
        shutil.copymode(source, dest)


def link_installed(names: Sequence[str], target: Path, bytecode: bool = False) -> dict[str, str]:
    """Hard-link the installed files of `names` into `target`, as `pip install --target`
    lays them out (packages and their `.dist-info`); with `bytecode`, each module's compiled
    `__pycache__` file for this interpreter too. Returns {name: version}."""
    import importlib.util
    from importlib import metadata

    pins = _locked_versions()
    versions: dict[str, str] = {}
    for name in names:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as exc:
            raise NotLocked(
                f"{name} is not installed in the project venv: run `make setup`"
            ) from exc
        pinned = pins.get(_canonical(name))
        if pinned is None or pinned != dist.version:
            raise NotLocked(
                f"{name} {dist.version} is installed but the lock pins {pinned or 'nothing'}: "
                "add it to requirements.txt or run `make setup`"
            )
        versions[name] = dist.version
        for file in dist.files or ():
            rel = Path(str(file))
            if rel.parts[0] == ".." or "__pycache__" in rel.parts or rel.suffix == ".pyc":
                continue
            source = Path(str(dist.locate_file(file)))
            if not source.is_file():
                continue
            _link(source, target / rel)
            if bytecode and rel.suffix == ".py":
                compiled = Path(importlib.util.cache_from_source(str(source)))
                if compiled.is_file():
                    _link(compiled, target / rel.parent / "__pycache__" / compiled.name)
    return versions


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
