"""The dispatch plan's variables are written and read in one place: `Plan.to_env` (the
program) and `Plan.from_env` (the dispatcher) agree."""

import pytest

from common.contract import AnalysisOrder, Branch, Env
from common.dispatch import Plan


@pytest.mark.parametrize("order", list(AnalysisOrder))
@pytest.mark.parametrize("queue_warn", [True, False])
def test_what_the_program_writes_the_dispatcher_reads(monkeypatch, order, queue_warn):
    variables = Plan.to_env(order, queue_warn, 0.25, 42)
    assert set(variables) == {
        Env.ANALYSIS_ORDER,
        Env.REVIEW_QUEUE_WARN,
        Env.REVIEW_QA_SAMPLE_RATE,
        Env.DISPATCH_LEASE_SECONDS,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(Env.REKOGNITION_FUNCTION, "rekognition-fn")
    monkeypatch.delenv(Env.VERDICTS_TABLE, raising=False)
    if order == AnalysisOrder.CUSTOM_FIRST:
        monkeypatch.setattr("common.rules.from_config", lambda: "the rules")
    plan = Plan.from_env()
    assert plan.order == order
    assert plan.queue_warn is queue_warn
    assert plan.lease_seconds == 42
    assert plan.qa_rate == 0.25
    assert plan.analyzers[Branch.REKOGNITION] == "rekognition-fn"
    assert plan.reuse is None
    assert plan.rules == ("the rules" if order == AnalysisOrder.CUSTOM_FIRST else None)


def test_the_analyzers_get_no_lease():
    assert Env.DISPATCH_LEASE_SECONDS not in Plan.to_env(AnalysisOrder.PARALLEL, False, 0.0)
