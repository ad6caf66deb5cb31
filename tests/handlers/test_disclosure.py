"""Text read from an image (an e-mail address, a phone number, a URL) reaches the
moderators and nobody else: not the owner's view, the logs, the metrics, the
notifications, the stored verdicts or the analytics rows.

The job goes the pipeline's way: uploaded, claimed by the dispatcher (verdict reuse on),
the custom and Rekognition results recorded, then the text analyzer's real handler runs
on the stored image with an OCR stand-in that reads the personal data, finalizes the job
and stores its verdict; the notifier publishes from the table's real stream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys

import pytest

from common import analysis, dispatch, export, text_analysis, verdicts
from common.contract import Branch, Output
from common.decision import Rules
from common.models.base import Prediction
from common.timeutil import utcnow
from local.tools import fixtures
from tests.support.helpers import RecordingLambda, accept, job
from tests.support.inprocess import (
    api_event,
    notifications,
    stream_records,
    subscribe_queue,
)

READ = ("mail jane.doe@mail.example", "call +1 (555) 010-0199", "visit http://bigwin.example/now")
SECRETS = ("jane.doe", "mail.example", "010-0199", "555", "bigwin")
RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit",))
ANALYZERS = {"rekognition": "rek-fn", "custom": "custom-fn", "text": "text-fn"}


class ReadsPersonalData:
    """An OCR stand-in that reads three lines of personal data off any image."""

    name = "ocr-standin"
    version = "1"

    def load(self) -> None:
        return None

    def predict(self, image):
        lines = [
            {"text": t, "confidence": 0.97, "box": [[0, 10 * i], [90, 10 * i], [90, 9], [0, 9]]}
            for i, t in enumerate(READ)
        ]
        return Prediction(scores={}, details={"lines": lines})


@pytest.fixture
def text_handler(monkeypatch):
    """The text analyzer's module imported with the stand-in as its model."""
    monkeypatch.setattr(text_analysis, "default_model", ReadsPersonalData)
    monkeypatch.delitem(sys.modules, "text_analyzer.handler", raising=False)
    yield
    sys.modules.pop("text_analyzer.handler", None)


def assert_clean(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in {where}"


def captured(capsys, caplog) -> str:
    """Everything logged since the last call: Powertools writes JSON lines to stdout, or,
    once pytest's logging capture holds its logger, records (with their extra fields)."""
    out = capsys.readouterr()
    records = [json.dumps(vars(r), default=str) for r in caplog.records]
    caplog.clear()
    return "\n".join([out.out, out.err, *records])


def test_text_read_from_an_image_reaches_moderators_only(stack, text_handler, capsys, caplog):
    caplog.set_level(logging.INFO)
    ddb = stack.client("dynamodb")
    table = stack.exports[Output.JOBS_TABLE]
    queue = subscribe_queue(stack)
    data = fixtures.png(seed=2121)
    job_id = accept(stack, data, user="alice")
    text_env = stack.function("text_analyzer").environment
    reuse = verdicts.ReuseConfig(
        stack.exports[Output.VERDICTS_TABLE], text_env["VERDICT_DIGEST"], 30
    )
    plan = dispatch.Plan(ANALYZERS, 30, reuse=reuse, rules=RULES)
    message = dispatch.Message(job_id, hashlib.sha256(data).hexdigest())
    dispatch.dispatch(ddb, RecordingLambda(), table, message, plan, utcnow())
    for branch, result in (
        (Branch.CUSTOM, {"signals": []}),
        (Branch.REKOGNITION, {"labels": [], "model_version": "7.0"}),
    ):
        analysis.complete_branch(ddb, table, job_id, branch, result, RULES, utcnow)
    captured(capsys, caplog)
    image_key = job(stack, job_id)["image_key"]
    out = stack.invoke("text_analyzer", {"job_id": job_id, "image_key": image_key})
    logged = captured(capsys, caplog)

    record = job(stack, job_id)
    assert out["outcome"] == "finalized: review"
    # The moderators' record keeps what was read, so a person sees why.
    assert "jane.doe@mail.example" in record["text_result"]["text"]
    assert {c["category"] for c in record["categories"]} == {"contact_info", "spam_link"}

    # Logs and EMF metrics of the analyzer that read it (both go to stdout).
    assert "text analysis complete" in logged and '"_aws"' in logged
    assert_clean("the text analyzer's logs and metrics", logged)
    # The job's reasons: they travel in the notification and the stored verdict.
    assert_clean("the job's reasons", json.dumps(record["reasons"]))

    # The owner's view, through the status API.
    resp = stack.invoke(
        "status",
        api_event("GET", f"/jobs/{job_id}", user="alice", path_params={"job_id": job_id}),
    )
    assert resp["statusCode"] == 200
    view = json.loads(resp["body"])
    assert view["decision"] == "review" and set(view["categories"]) == {"contact_info", "spam_link"}
    assert_clean("the owner's view", resp["body"])
    for internal in ("text_result", "custom_result", "rekognition_result", "score", "0.97"):
        assert internal not in resp["body"], internal

    # The notification, published by the notifier from the stream.
    captured(capsys, caplog)
    assert stack.invoke("notifier", {"Records": stream_records(stack)}) == {"batchItemFailures": []}
    notifier_logs = captured(capsys, caplog)
    sent = notifications(stack, queue)
    assert [m["job_id"] for m in sent] == [job_id]
    assert_clean("the SNS message", json.dumps(sent))
    assert "notification published" in notifier_logs
    assert_clean("the notifier's logs and metrics", notifier_logs)

    # The stored verdict.
    items = ddb.scan(TableName=reuse.table)["Items"]
    stored = [i for i in items if i["verdict_key"]["S"] == record["verdict_key"]]
    assert len(stored) == 1
    assert_clean("the verdicts table", json.dumps(items))

    # The analytics row.
    rows = [export.export_row(r) for r in stream_records(stack)]
    lines = [r.line for r in rows if r is not None and r.job_id == job_id]
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert {s["category"] for s in row["text_result"]["signals"]} == {"contact_info", "spam_link"}
    assert row["text_result"]["line_count"] == 3
    assert_clean("the export row", lines[0])


@pytest.mark.parametrize("function", ["status", "review", "upload"])
def test_tracing_keeps_no_response_that_carries_user_data(function, monkeypatch):
    """X-Ray would store the handler's return value as trace metadata: the owner's job,
    the review queue with the text read, upload URLs. These handlers turn that off."""
    import importlib

    from aws_lambda_powertools import Tracer

    seen: list[bool | None] = []
    original = Tracer.capture_lambda_handler

    def recording(self, lambda_handler=None, capture_response=None, capture_error=None):
        seen.append(capture_response)
        return original(self, lambda_handler, capture_response, capture_error)

    monkeypatch.setattr(Tracer, "capture_lambda_handler", recording)
    name = f"{function}.handler"
    saved = sys.modules.pop(name, None)
    try:
        importlib.import_module(name)
    finally:
        sys.modules.pop(name, None)
        if saved is not None:
            sys.modules[name] = saved
    assert seen and seen[0] is False
