"""What goes into a function's dependency layer (components/packaging.py), for AWS and
the local cloud alike: its requirements, the AWS SDK at the lock's version, the trim."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest

from components import function_package, packaging


def closure(root: str) -> set[str]:
    """The distributions `root` needs, from the installed metadata (extras left out)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = packaging._canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for req in metadata.requires(name) or []:
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[ ;<>=!~(\[]", req, maxsplit=1)[0])
    return seen


def test_the_sdk_is_boto3_and_its_whole_dependency_closure():
    assert {packaging._canonical(n) for n in packaging.SDK} == closure("boto3")


def test_every_sdk_distribution_is_pinned_by_the_lock():
    pins = packaging._locked_versions()
    for name in packaging.SDK:
        assert pins.get(packaging._canonical(name)), f"{name} is not in requirements.txt"


def test_a_layer_holds_the_requirements_the_extras_and_the_sdk_once_each():
    deps = packaging.layer_requirements("status", ("redis",))
    assert deps[: len(packaging.requirements("status"))] == packaging.requirements("status")
    assert "redis" in deps and set(packaging.SDK) <= set(deps)
    assert len({packaging._canonical(d) for d in deps}) == len(deps)  # jmespath once


def test_services_are_read_from_the_code_and_a_variable_one_is_refused(tmp_path):
    pkg = tmp_path / "fn"
    pkg.mkdir()
    (pkg / "handler.py").write_text(
        'import boto3\nfrom common.clients import client\n\nA = client("sqs")\n'
        'B = boto3.client("sns", region_name="eu-west-1")\n'
    )
    assert packaging.sdk_services([pkg]) == ["sns", "sqs"]
    (pkg / "more.py").write_text('import boto3\nname = "s3"\nC = boto3.client(name)\n')
    with pytest.raises(packaging.UnknownService, match=r"more\.py:3 .*string literal"):
        packaging.sdk_services([pkg])


def test_each_function_keeps_the_services_its_code_calls():
    assert packaging.function_services("dispatcher") == ["dynamodb", "lambda", "s3"]
    assert "rekognition" in packaging.function_services("rekognition_analyzer")
    assert "secretsmanager" in packaging.function_services("status")
    assert "sqs" in packaging.function_services("upload")
    assert "sns" in packaging.function_services("notifier")


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")


def test_the_trim_keeps_the_called_services_and_botocores_shared_data(tmp_path):
    for rel in (
        "botocore/data/endpoints.json",
        "botocore/data/s3/2006-03-01/service-2.json.gz",
        "botocore/data/s3/2006-03-01/examples-1.json",
        "botocore/data/ec2/2016-11-15/service-2.json.gz",
        "boto3/data/s3/2006-03-01/resources-1.json",
        "boto3/data/ec2/2016-11-15/resources-1.json",
        "numpy/core/tests/test_x.py",
    ):
        touch(tmp_path / rel)
    function_package.trim_layer(tmp_path, ["s3"])
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == [
        "boto3/data/s3/2006-03-01/resources-1.json",
        "botocore/data/endpoints.json",
        "botocore/data/s3/2006-03-01/service-2.json.gz",
    ]


def test_a_host_layer_links_the_venvs_files_at_the_locks_versions(tmp_path, monkeypatch):
    monkeypatch.setattr(packaging, "BUILD", tmp_path)
    layer = packaging.build_host_layer(["six"], ["s3"])
    linked = layer / "python" / "six.py"
    installed = Path(str(metadata.distribution("six").locate_file("six.py")))
    assert os.path.samefile(linked, installed)
    assert list((layer / "python").glob("six-*.dist-info/METADATA"))
    assert packaging.build_host_layer(["six"], ["s3"]) == layer  # cached by content


def test_a_host_layer_refuses_what_the_lock_does_not_pin(tmp_path, monkeypatch):
    monkeypatch.setattr(packaging, "BUILD", tmp_path)
    monkeypatch.setattr(packaging, "_locked_versions", lambda: {"six": "0.0.1"})
    with pytest.raises(packaging.NotLocked, match="six .* lock pins 0.0.1"):
        packaging.build_host_layer(["six"], None)
    with pytest.raises(packaging.NotLocked, match="not installed"):
        packaging.build_host_layer(["no-such-distribution-here"], None)
