"""Claims, appeals and QA under Pulumi's mocks: the indexes, the settings reaching the
functions, the claim alarms."""

from __future__ import annotations

from lambdas.common.contract import APPEAL_INDEX, QA_INDEX
from tests.support.program import run_program


def env_of(run, logical: str) -> dict:
    fn = run.one("aws:lambda/function:Function", f"moderation-{logical}-function")
    return fn.inputs["environment"]["variables"]


def test_the_appeal_and_qa_queues_are_sparse_indexes_and_settings_reach_their_functions():
    run = run_program(
        {"review": {"claimMinutes": 20, "qaSampleRate": 0.25}, "appeals": {"windowDays": 10}}
    )
    table = run.one("aws:dynamodb/table:Table", "moderation-store-jobs").inputs
    indexes = {g["name"]: g for g in table["globalSecondaryIndexes"]}
    keys = {name: (g["hashKey"], g["rangeKey"], g["projectionType"]) for name, g in indexes.items()}
    assert keys[APPEAL_INDEX] == ("appeal_state", "appealed_at", "ALL")
    assert keys[QA_INDEX] == ("qa_state", "qa_queued_at", "ALL")
    types = {a["name"]: a["type"] for a in table["attributes"]}
    assert all(types[k] == "S" for k in ("appeal_state", "appealed_at", "qa_state", "qa_queued_at"))

    review = env_of(run, "review")
    assert (
        review["REVIEW_CLAIM_MINUTES"],
        review["REVIEW_QA_SAMPLE_RATE"],
        review["APPEAL_WINDOW_DAYS"],
    ) == ("20", "0.25", "10")
    # The console reads how long a claim lasts from the stack's outputs.
    assert run.exports["review_claim_minutes"] == 20
    assert run.exports["review_qa_sample_rate"] == 0.25
    # Whichever function finalizes a job samples its automatic decision.
    for fn in ("rekognition_analyzer", "custom_analyzer", "text_analyzer", "dispatcher"):
        assert env_of(run, fn)["REVIEW_QA_SAMPLE_RATE"] == "0.25", fn

    alarms = {
        a.inputs["name"]: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    for queue in ("review", "appeal", "qa"):
        claim = alarms[f"moderation-test-{queue}-time-to-claim"]
        assert claim["metricName"] == "ReviewTimeToClaimSeconds"
        assert claim["dimensions"] == {"service": "review", "queue": queue}
        assert claim["threshold"] == 3600
        decide = alarms[f"moderation-test-{queue}-time-to-decide"]
        assert decide["metricName"] == "ReviewTimeToDecideSeconds"
        assert decide["threshold"] == 20 * 60
