"""Shared fixtures, and a marker per folder: `pytest -m unit` is the fast tier.

| folder | marker | what runs |
|---|---|---|
| unit/ | unit | pure functions: decisions, settings, cost model, reports |
| models/ | models | the real models on safe images (onnxruntime) |
| handlers/ | handlers | handler and behaviour code on in-process moto |
| program/ | program | the Pulumi program under mocks: what `pulumi up` would declare |
| local_cloud/ | local_cloud | the embedded local cloud, end to end |
| dashboard/ | dashboard | the dashboard's data layer and pages |
| browser/ | browser | the dashboard in headless Chromium |
| spark/ | spark | the PySpark report in local mode |
"""

import os
import time
from pathlib import Path

# Handlers import Powertools at module level; keep them quiet and untraced in tests.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Moderation")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# botocore routes DynamoDB Streams calls to account-based hosts moto does not serve.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from tests.support.local_cloud import start_local_cloud, stop_local_cloud  # noqa: E402

TIERS = ("unit", "models", "handlers", "program", "local_cloud", "dashboard", "browser", "spark")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        folder = Path(str(item.fspath)).relative_to(root).parts[0]
        if folder in TIERS:
            item.add_marker(getattr(pytest.mark, folder))
        # A local cloud (the session's or one of its own) runs with timeouts tuned for two
        # cores to itself: `make test` runs these in one process after the rest.
        if folder in ("local_cloud", "browser") or "local_cloud" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.cloud)


_SLEEP = time.sleep


@pytest.fixture(autouse=True)
def _time_sleep_left_alone():
    """A test that replaces `time.sleep` outside monkeypatch changes it for every later
    test of the session (a wait that should take 31 s takes none): fail that test."""
    yield
    if time.sleep is not _SLEEP:
        time.sleep = _SLEEP
        pytest.fail("this test left time.sleep replaced: patch it with monkeypatch")


@pytest.fixture
def stack():
    """The whole program materialized in a fresh in-process moto."""
    from tests.support.inprocess import build_stack

    with mock_aws():
        yield build_stack()


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory):
    """One local cloud for the session, running the real program end to end."""
    state_dir = tmp_path_factory.mktemp("local-cloud")
    client = start_local_cloud(state_dir)
    try:
        yield client
    finally:
        stop_local_cloud(state_dir)
