"""Submission to the Transparency Database twin over HTTP: batches, retries, exactly once per puid."""

from __future__ import annotations

import copy

import pytest

from common import dsa_submit
from common.dsa_submit import Answer, HttpApi, Uncertain
from local.twins.transparency import serve
from tests.unit.test_dsa_statements import _valid

TOKEN = "platform-token"


def statement(n: int) -> dict:
    return {**copy.deepcopy(_valid()), "puid": f"job-{n:04d}"}


@pytest.fixture
def twin():
    running = serve(TOKEN)
    try:
        yield running
    finally:
        running.stop()


def no_sleep(_seconds: float) -> None:
    return None


def test_statements_go_in_batches_of_at_most_a_hundred(twin):
    items = [statement(n) for n in range(230)]
    report = dsa_submit.submit(HttpApi(twin.url, TOKEN), items, no_sleep)
    assert len(report.submitted) == 230 and not report.failed
    assert report.requests == 3
    assert len(twin.twin.statements) == 230
    assert [c[2] for c in twin.twin.calls] == [201, 201, 201]


def test_a_failure_after_the_database_stored_the_batch_sends_nothing_twice(twin):
    items = [statement(n) for n in range(5)]
    twin.twin.fail_after_store(1)
    sleeps: list[float] = []
    report = dsa_submit.submit(HttpApi(twin.url, TOKEN), items, sleeps.append)
    # Stored on the first call (answered 500); the retry looked each puid up and found it.
    assert sorted(report.already) == [s["puid"] for s in items]
    assert report.submitted == [] and not report.failed
    assert [(m, c) for m, _, c in twin.twin.calls] == [("POST", 500)] + [("GET", 302)] * 5
    assert len(twin.twin.statements) == 5
    assert sleeps == [1.0]


def test_the_twin_refuses_a_duplicate_puid_and_an_invalid_statement_creating_none(twin):
    api = HttpApi(twin.url, TOKEN)
    assert api.post_statements([statement(1)]).status == 201
    again = api.post_statements([statement(1), statement(2)])
    assert again.status == 422
    assert again.body["errors"]["existing_puids"] == ["job-0001"]
    assert "job-0002" not in twin.twin.statements
    bad = {**statement(3), "category": "STATEMENT_CATEGORY_PIRACY"}
    refused = api.post_statements([statement(4), bad])
    assert refused.status == 422 and list(refused.body["errors"]) == ["statement_1"]
    assert "job-0004" not in twin.twin.statements
    assert HttpApi(twin.url, "wrong").post_statements([statement(5)]).status == 401
    assert api.puid_exists("job-0001") and not api.puid_exists("job-0004")


def test_duplicates_count_as_submitted_and_invalid_ones_go_to_the_dead_letters(twin):
    api = HttpApi(twin.url, TOKEN)
    api.post_statements([statement(1)])
    bad = {**statement(3), "content_date": "yesterday"}
    items = [statement(1), statement(2), bad]
    report = dsa_submit.submit(api, items, no_sleep)
    assert report.already == ["job-0001"]
    assert report.submitted == ["job-0002"]
    assert list(report.failed) == ["job-0003"]
    letters = dsa_submit.dead_letters(report, items)
    assert letters[0]["puid"] == "job-0003" and "YYYY-MM-DD" in letters[0]["reason"]


class Flaky:
    """An API down for its first `down` calls (connection refused: uncertain), storing nothing."""

    def __init__(self, down: int, status_after: int = 201) -> None:
        self.down = down
        self.status_after = status_after
        self.calls = 0
        self.lookups = 0

    def _call(self) -> None:
        self.calls += 1
        if self.calls <= self.down:
            raise Uncertain("connection refused")

    def post_statements(self, statements):
        self._call()
        return Answer(self.status_after, {})

    def puid_exists(self, puid):
        self.lookups += 1
        self._call()
        return False


def test_retries_back_off_and_what_still_fails_is_reported_for_the_dead_letter_queue():
    sleeps: list[float] = []
    api = Flaky(down=99)
    report = dsa_submit.submit(api, [statement(1)], sleeps.append, attempts=4)
    assert sleeps == [1.0, 2.0, 4.0]
    assert report.failed == {"job-0001": "still failing after 4 attempts (outcome uncertain)"}
    recovered = Flaky(down=1)
    report = dsa_submit.submit(recovered, [statement(1)], no_sleep)
    assert report.submitted == ["job-0001"]
    assert recovered.lookups == 1  # it asked before sending again


def test_a_bad_token_is_not_retried():
    report = dsa_submit.submit(Flaky(down=0, status_after=401), [statement(1)], no_sleep)
    assert report.failed["job-0001"].startswith("HTTP 401")


# --- the submitter function, in-process, against the twin --------------------------------


@pytest.fixture
def submitting(twin):
    from moto import mock_aws

    from tests.support.inprocess import build_stack

    with mock_aws():
        stack = build_stack(
            {"dsa": {"submit": True, "tokenSecret": "dsa-token", "apiUrl": twin.url}}
        )
        stack.client("secretsmanager").create_secret(Name="dsa-token", SecretString=TOKEN)
        yield stack


def _statement_records(stack):
    streams = stack.client("dynamodbstreams")
    table = stack.exports["statements_table"]
    arn = stack.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        out = streams.get_records(ShardIterator=it, Limit=1000)
        for rec in out["Records"]:
            rec["dynamodb"].pop("ApproximateCreationDateTime", None)
            records.append(rec)
    return records


def test_the_submitter_sends_each_stored_statement_once_even_after_a_lost_response(
    submitting, twin, monkeypatch
):
    from tests.handlers.test_statements import EXPLICIT, decided
    from tests.support.inprocess import stream_records

    stack = submitting
    ids = [decided(stack, EXPLICIT) for _ in range(3)]
    assert stack.invoke("notifier", {"Records": stream_records(stack)}) == {"batchItemFailures": []}
    records = _statement_records(stack)
    assert len(records) == 3
    twin.twin.fail_after_store(1)  # the database stores the batch, the answer is lost
    # No backoff waits. Through monkeypatch: `module.time` is the interpreter's one `time`
    # module, and a plain setattr would leave `time.sleep` a no-op for the whole session.
    patch = lambda module: monkeypatch.setattr(module.time, "sleep", lambda s: None)  # noqa: E731
    assert stack.invoke("dsa_submitter", {"Records": records}, patch) == {"batchItemFailures": []}
    # The stream retried the batch (say, a timeout): nothing is sent twice.
    assert stack.invoke("dsa_submitter", {"Records": records}, patch) == {"batchItemFailures": []}
    assert sorted(twin.twin.statements) == sorted(ids)
    posts = [c for c in twin.twin.calls if c[0] == "POST"]
    # The first POST stored them (answer lost): the retry looked each puid up and sent
    # nothing; the redelivered batch was refused as duplicates (422), creating nothing.
    assert [c[2] for c in posts] == [500, 422]
    assert [c[2] for c in twin.twin.calls if c[0] == "GET"] == [302, 302, 302]
    dlq = stack.client("sqs").get_queue_url(QueueName="moderation-test-dsa-submission-dlq")
    depth = stack.client("sqs").get_queue_attributes(
        QueueUrl=dlq["QueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
