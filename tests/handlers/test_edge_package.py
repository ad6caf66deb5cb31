"""The Lambda@Edge package: self-contained, pure Python, under 1 MB zipped, keys baked in."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from components import packaging
from components.edge_auth import public_jwks
from tests.support import edge as es

KEY = es.SigningKey("pkg-key")


@pytest.fixture(scope="module")
def package() -> packaging.EdgePackage:
    return es.build({"keys": [KEY.jwk()]})


def test_zipped_package_is_under_the_viewer_request_limit(package):
    assert package.zipped_bytes == package.zip_path.stat().st_size
    assert package.zipped_bytes < packaging.EDGE_VIEWER_ZIP_LIMIT == 1024 * 1024
    names = zipfile.ZipFile(package.zip_path).namelist()
    assert "edge_auth/handler.py" in names and "edge_auth/config.json" in names
    assert "jose/jws.py" in names and "rsa/pkcs1.py" in names


def test_an_oversized_package_fails_the_build_naming_size_and_limit():
    with pytest.raises(packaging.PackageTooLarge) as info:
        packaging.build_edge_function(
            "edge_auth", es.edge_config({"keys": [KEY.jwk()]}), limit=50_000
        )
    message = str(info.value)
    assert "bytes zipped" in message and "under 50000 bytes" in message


def test_only_the_pure_python_dependencies_are_vendored(package):
    top = {p.name for p in package.directory.iterdir()}
    modules = {n for n in top if not n.endswith(".dist-info")}
    assert modules == {"edge_auth", "jose", "rsa", "pyasn1", "ecdsa", "six.py"}
    assert not (package.directory / "jose" / "backends" / "cryptography_backend.py").exists()
    assert not list(package.directory.rglob("__pycache__"))
    assert not list(package.directory.rglob("test_*.py"))
    # No compiled code anywhere: the package runs on Lambda@Edge's x86_64 as built here.
    assert not [p for p in package.directory.rglob("*") if p.suffix in (".so", ".pyd", ".dylib")]


def test_vendored_versions_are_the_locked_ones(package):
    lock = (packaging.ROOT / "requirements.txt").read_text()
    assert package.versions.keys() == {"python-jose", "rsa", "pyasn1", "ecdsa", "six"}
    for name, version in package.versions.items():
        assert f"{name}=={version}" in lock


def test_config_is_baked_with_public_keys_only(package):
    config = json.loads((package.directory / "edge_auth" / "config.json").read_text())
    assert config["issuer"] == es.ISSUER and config["client_id"] == es.CLIENT_ID
    assert config["token_use"] == "id" and config["leeway_seconds"] == 30
    (jwk,) = config["jwks"]["keys"]
    assert set(jwk) == {"kty", "kid", "alg", "use", "n", "e"}


def test_public_jwks_strips_private_members_and_refuses_a_keyless_set():
    private = {**KEY.jwk(), "d": "secret", "p": "x", "q": "y"}
    ec_key = {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "a", "y": "b"}
    out = public_jwks({"keys": [private, ec_key, {"kty": "RSA", "kid": "enc", "use": "enc"}]}, "t")
    assert out == {"keys": [KEY.jwk()]}
    with pytest.raises(ValueError, match="no RS256 signature key"):
        public_jwks({"keys": [ec_key]}, "t")


def test_jose_cannot_pick_the_cryptography_backend_even_where_cryptography_is_installed(package):
    """This venv has cryptography; the package's jose still resolves to the rsa backend."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import edge_auth.handler, jose.backends;"
        "print(jose.backends.RSAKey.__module__, type(next(iter("
        "edge_auth.handler.VERIFIER.keys.values()))).__mro__[1].__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-B", "-c", code, str(package.directory)],
        capture_output=True,
        text=True,
        check=True,
        cwd=package.directory.parent,
    ).stdout.split()
    assert out == ["jose.backends.rsa_backend", "jose.backends.rsa_backend"]


def test_handler_imports_in_a_fresh_isolated_interpreter(package):
    report = es.run_isolated(package.directory, [])
    assert report["cryptography_loaded"] is False
    assert report["import_ms"] > 0
