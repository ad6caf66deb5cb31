"""The Lambdas page's model figures: ModelInferenceMs and ModelLoadMs read back per model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from dashboard.data.functions import model_inference


def put(cw, metric: str, service: str, model: str, values: list[float], at: datetime) -> None:
    cw.put_metric_data(
        Namespace="Moderation",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "service", "Value": service},
                    {"Name": "model", "Value": model},
                ],
                "Timestamp": at,
                "Value": v,
                "Unit": "Milliseconds",
            }
            for v in values
        ],
    )


def test_inference_and_load_times_per_model():
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        now = datetime.now(UTC)
        put(cw, "ModelInferenceMs", "custom_analyzer", "open_nsfw", [20.0, 30.0, 40.0], now)
        put(cw, "ModelLoadMs", "custom_analyzer", "open_nsfw", [250.0], now)
        put(cw, "ModelInferenceMs", "text_analyzer", "rapidocr", [300.0], now)
        frame = model_inference(cw, now - timedelta(hours=1), now + timedelta(minutes=1), 60)
    rows = {r["model"]: r for _, r in frame.iterrows()}
    assert set(rows) == {"open_nsfw", "blazeface_short_range", "rapidocr"}
    nsfw = rows["open_nsfw"]
    assert (nsfw["images"], nsfw["avg_ms"], nsfw["max_ms"]) == (3, 30.0, 40.0)
    assert (nsfw["loads"], nsfw["avg_load_ms"]) == (1, 250.0)
    assert rows["rapidocr"]["images"] == 1 and rows["rapidocr"]["loads"] == 0
    assert rows["blazeface_short_range"]["images"] == 0
