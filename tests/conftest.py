import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "lambdas"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

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


@pytest.fixture
def stack():
    """The whole program materialized in a fresh in-process moto."""
    from local.inprocess import build_stack

    with mock_aws():
        yield build_stack()


# Settings of the test local cloud: short timeouts so redelivery, retries and the
# sweeper happen within seconds rather than minutes.
LOCAL_TEST_SETTINGS = {
    "functions": {
        "dispatcher": {"timeout": 2},
        "rekognition_analyzer": {"timeout": 10},
        "custom_analyzer": {"timeout": 10},
        "sweeper": {"timeout": 3},
    },
    "jobDeadlineSeconds": 60,
}
LOCAL_TEST_OPTIONS = ["--schedule-scale", "0.1", "--async-backoff", "0.5", "--sample-interval", "2"]


def start_local_cloud(state_dir, settings=None, options=None):
    """Start a local cloud in `state_dir` with the test settings; return a client for it."""
    from local.client import start_cloud

    return start_cloud(
        state_dir,
        {**LOCAL_TEST_SETTINGS, **(settings or {})},
        LOCAL_TEST_OPTIONS if options is None else options,
    )


def stop_local_cloud(state_dir):
    from local.client import stop_cloud

    stop_cloud(state_dir)


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory):
    """One local cloud for the session, running the real program end to end."""
    state_dir = tmp_path_factory.mktemp("local-cloud")
    client = start_local_cloud(state_dir)
    try:
        yield client
    finally:
        stop_local_cloud(state_dir)
