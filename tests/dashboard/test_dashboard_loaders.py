"""The metrics loaders share one window: `read(cloudwatch, *args, start, end, period)`."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard import loaders
from dashboard.data import metrics

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class _Target:
    def client(self, service):
        return f"client:{service}"


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch):
    monkeypatch.setattr(loaders, "_now", lambda: NOW)


def _read(*call):
    return call


@pytest.mark.parametrize(
    "ahead, end", [(True, NOW + timedelta(minutes=1)), (False, NOW)], ids=["ahead", "now"]
)
def test_the_window_ends_now_or_a_minute_ahead(ahead, end):
    value, fetched_at = loaders._windowed(_read, 3600, _Target(), "extra", ahead=ahead)
    period = metrics.choose_period(timedelta(hours=1))
    assert value == ("client:cloudwatch", "extra", NOW - timedelta(hours=1), end, period)
    assert fetched_at == NOW


def test_the_period_follows_the_window():
    (_, start, _, period), _ = loaders._windowed(_read, 7 * 86400, _Target())
    assert start == NOW - timedelta(days=7)
    assert period == metrics.choose_period(timedelta(days=7)) > 60
