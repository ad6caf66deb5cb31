"""The service twins know the mocks that call them only as `MockCloud`, a small protocol:
no twin imports `local.mocks`, and `LocalMocks` provides every member the protocol names."""

import ast
import inspect

from local.mocks import LocalMocks
from local.registry import Registry
from local.twins.common import MockCloud
from tests.support.paths import ROOT


def test_no_twin_imports_the_mocks():
    offences = []
    for path in sorted((ROOT / "local" / "twins").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "local.mocks":
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offences, "twins importing local.mocks (use local.twins.common.MockCloud):\n" + (
        "\n".join(offences)
    )


def test_the_local_mocks_provide_what_the_protocol_names():
    mocks = LocalMocks(lambda service: service, Registry(), "eu-west-1", "http://gw")
    members = set(inspect.get_annotations(MockCloud)) | {
        name for name, value in vars(MockCloud).items() if inspect.isfunction(value)
    }
    members = {name for name in members if not name.startswith("_")}
    assert members == {"client", "registry", "region", "gateway_url", "arn"}
    for name in members:
        assert hasattr(mocks, name), name
    assert mocks.client("s3") == "s3"
    assert (mocks.region, mocks.gateway_url) == ("eu-west-1", "http://gw")
    assert mocks.arn("sqs", "q").startswith("arn:aws:sqs:eu-west-1:")
