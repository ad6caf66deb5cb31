"""Handler tests use the in-process stack of `local/inprocess.py`."""

from local.inprocess import (  # noqa: F401 - re-exported for the tests
    TEST_CONFIG,
    InProcessStack,
    api_event,
    build_stack,
    drain,
    notifications,
    reset_caches,
    sqs_event,
    stream_records,
    subscribe_queue,
)
