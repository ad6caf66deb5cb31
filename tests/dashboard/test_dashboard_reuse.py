"""The Cost page's verdict reuse: the measured repeat rate read back from CloudWatch, and the
page drawing it (AppTest on an outputs-file target over in-process moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import streamlit as st
from moto import mock_aws
from streamlit.testing.v1 import AppTest

from dashboard.data.reuse import reuse_figures, service_dimensions
from tests.support.paths import ROOT

APP = ROOT / "dashboard" / "app.py"


def put(cw, metric: str, value: float, at: datetime, **dims: str) -> None:
    cw.put_metric_data(
        Namespace="Moderation",
        MetricData=[
            {
                "MetricName": metric,
                "Value": value,
                "Unit": "Count",
                "Timestamp": at,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            }
        ],
    )


@pytest.fixture
def cw():
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def window(now: datetime) -> tuple[datetime, datetime, int]:
    return now - timedelta(hours=1), now + timedelta(minutes=1), 60


def test_the_repeat_rate_is_reused_over_dispatched_plus_reused(cw):
    now = datetime.now(UTC)
    for minutes, dispatched, reused in ((3, 20, 4), (2, 10, 6)):
        at = now - timedelta(minutes=minutes)
        put(cw, "JobsDispatched", dispatched, at, service="dispatcher")
        put(cw, "VerdictsReused", reused, at, service="dispatcher")
    put(cw, "VerdictsStored", 25, now - timedelta(minutes=2), service="custom_analyzer")
    # Whichever function counts the skips, they are read (a share of the analyzed jobs).
    put(cw, "RekognitionSkipped", 1, now - timedelta(minutes=2), service="custom_analyzer")
    put(cw, "RekognitionSkipped", 2, now - timedelta(minutes=2), service="text_analyzer")
    # Outside the window.
    put(cw, "VerdictsReused", 50, now - timedelta(hours=3), service="dispatcher")
    figures = reuse_figures(cw, *window(now))
    assert (figures.dispatched, figures.reused, figures.stored) == (30, 10, 25)
    assert figures.jobs == 40
    assert figures.reuse_share == pytest.approx(10 / 40)
    assert figures.rekognition_skip_share == pytest.approx(3 / 30)


def test_only_the_series_counted_per_service_are_read(cw):
    now = datetime.now(UTC)
    put(cw, "VerdictsReused", 3, now, service="dispatcher")
    put(cw, "VerdictsReused", 9, now, service="dispatcher", model="x")
    put(cw, "VerdictsReused", 9, now)
    assert service_dimensions(cw, "VerdictsReused") == [(("service", "dispatcher"),)]
    assert service_dimensions(cw, "RekognitionSkipped") == []


def test_no_dispatches_means_no_measured_share(cw):
    figures = reuse_figures(cw, *window(datetime.now(UTC)))
    assert figures.jobs == 0
    assert figures.reuse_share is None and figures.rekognition_skip_share is None


@pytest.fixture
def page(cw, tmp_path, monkeypatch):
    """The Cost page on an outputs file of a stack with verdict reuse on, over moto."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"jobs_table": "jobs", "verdicts_table": "verdicts"}))
    monkeypatch.setenv("DASHBOARD_OUTPUTS", str(outputs))
    monkeypatch.delenv("DASHBOARD_LOCAL_STATE", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()

    def open_page() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=90).run()
        at.switch_page("pages/cost.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_page


def metric(at: AppTest, prefix: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(prefix))


def usd(text: str) -> float:
    return float(text.lstrip("$").replace(",", ""))


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_the_page_says_when_no_reuse_was_measured(page):
    at = page()
    assert "No reuse measured yet" in captions(at)
    assert metric(at, "Per job at the measured repeat share") == "no reuse measured yet"
    assert at.slider(key="cost_reuse_share").value == 0
    # The what-if starts at the measured share (none): it costs what no reuse costs, plus
    # the lookup and the write.
    assert usd(metric(at, "Per job at the what-if")) >= usd(metric(at, "Per job without reuse"))


def test_the_page_prices_the_measured_repeat_rate_and_the_what_if(page, cw):
    now = datetime.now(UTC)
    put(cw, "JobsDispatched", 30, now - timedelta(minutes=2), service="dispatcher")
    put(cw, "VerdictsReused", 10, now - timedelta(minutes=2), service="dispatcher")
    at = page()
    assert "10 of 40 jobs completed from a stored verdict (25.0%" in captions(at)
    assert at.slider(key="cost_reuse_share").value == 25
    without = usd(metric(at, "Per job without reuse"))
    measured = usd(metric(at, "Per job at the measured repeat share (25.0%)"))
    # Rekognition is most of a job's cost: a quarter reused saves nearly a quarter.
    assert 0.74 * without < measured < 0.8 * without
    monthly = metric(at, "Monthly")
    at.slider(key="cost_reuse_share").set_value(50).run()
    assert not at.exception
    half = usd(metric(at, "Per job at the what-if (50% repeats"))
    assert half < measured and metric(at, "Monthly") != monthly
    at.slider(key="cost_skip_share").set_value(10).run()
    assert usd(metric(at, "Per job at the what-if (50% repeats, 10% skipped)")) < half
