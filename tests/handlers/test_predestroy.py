"""`make predestroy`: a started EMR Serverless application is stopped so `pulumi destroy`
can delete it (AWS deletes an application only while it is CREATED or STOPPED).

The application's lifecycle comes from moto, which refuses DeleteApplication on a
STARTED application as AWS does. moto finishes every job run at once, so the job runs
that keep an application from stopping are answered with botocore's Stubber in the
shapes AWS documents.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from scripts import predestroy


@pytest.fixture
def emr():
    with mock_aws():
        yield boto3.client("emr-serverless", region_name="us-east-1")


def application(emr) -> str:
    return emr.create_application(
        name="moderation-test-reports", releaseLabel="emr-7.2.0", type="SPARK"
    )["applicationId"]


def finished_report(emr, app: str) -> None:
    """The schedule's daily run (moto finishes it at once): what left the app STARTED."""
    emr.start_job_run(
        applicationId=app,
        clientToken="daily",
        executionRoleArn="arn:aws:iam::123456789012:role/report-job",
        jobDriver={"sparkSubmit": {"entryPoint": "s3://results/scripts/report.py"}},
    )


def test_a_started_application_blocks_delete_until_predestroy_stops_it(emr):
    app = application(emr)
    emr.start_application(applicationId=app)
    finished_report(emr, app)
    with pytest.raises(ClientError, match="CREATED, STOPPED"):
        emr.delete_application(applicationId=app)  # what `pulumi destroy` ran into
    lines: list[str] = []
    assert predestroy.stop_application(emr, app, poll=0, say=lines.append) == "STOPPED"
    assert any("stopping application" in line for line in lines)
    emr.delete_application(applicationId=app)
    assert predestroy.state_of(emr, app) == "TERMINATED"


def test_a_stopped_application_is_left_as_it_is(emr):
    app = application(emr)
    emr.stop_application(applicationId=app)
    lines: list[str] = []
    assert predestroy.stop_application(emr, app, poll=0, say=lines.append) == "STOPPED"
    assert lines == [f"application {app} is STOPPED: nothing to stop"]


@pytest.mark.parametrize("state", ["CREATED", "TERMINATED"])
def test_a_created_or_deleted_application_is_left_as_it_is(state):
    # moto creates applications STARTED; AWS creates them CREATED (stubbed here).
    emr, stub = stubbed([state], [])
    assert predestroy.stop_application(emr, "00fabc", poll=0, say=lambda _: None) == state
    stub.assert_no_pending_responses()


def stubbed(states: list[str], runs: list[list[dict]], cancel: list[str] = (), stop: bool = True):
    """An EMR Serverless client answering in order: the application's states, the active
    job runs each time they are listed, the cancellations and the stop."""
    emr = boto3.client("emr-serverless", region_name="us-east-1")
    stub = Stubber(emr)
    app = {"applicationId": "00fabc"}
    arn = "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00fabc"

    def get(state: str) -> None:
        stub.add_response(
            "get_application",
            {
                "application": {
                    "applicationId": "00fabc",
                    "arn": arn,
                    "releaseLabel": "emr-7.2.0",
                    "type": "SPARK",
                    "state": state,
                    "createdAt": "2026-01-01T00:00:00Z",
                    "updatedAt": "2026-01-01T00:00:00Z",
                }
            },
            app,
        )

    def listed(found: list[dict]) -> None:
        stub.add_response(
            "list_job_runs",
            {"jobRuns": found},
            {**app, "states": predestroy.ACTIVE_JOB_STATES},
        )

    get(states[0])
    if runs:
        listed(runs[0])
    for run_id in cancel:
        stub.add_response(
            "cancel_job_run",
            {"applicationId": "00fabc", "jobRunId": run_id},
            {**app, "jobRunId": run_id},
        )
    for found in runs[1:]:
        listed(found)
    for state in states[1:]:
        get(state)
        if stop and state == "STARTED":
            stub.add_response("stop_application", {}, app)
            stop = False
    stub.activate()
    return emr, stub


def job_run(run_id: str, state: str) -> dict:
    return {
        "applicationId": "00fabc",
        "id": run_id,
        "name": "daily-report",
        "arn": f"arn:aws:emr-serverless:us-east-1:123456789012:/applications/00fabc/jobruns/{run_id}",
        "createdBy": "arn:aws:iam::123456789012:role/scheduler",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "executionRole": "arn:aws:iam::123456789012:role/report-job",
        "state": state,
        "stateDetails": state,
        "releaseLabel": "emr-7.2.0",
    }


def test_a_running_report_is_named_and_not_cancelled_unless_asked():
    emr, stub = stubbed(["STARTED"], [[job_run("r1", "RUNNING")]])
    with pytest.raises(predestroy.NotStopped, match=r"r1 \(RUNNING\).*--cancel-jobs"):
        predestroy.stop_application(emr, "00fabc", poll=0, say=lambda _: None)
    stub.assert_no_pending_responses()


def test_cancel_jobs_cancels_the_runs_waits_for_them_then_stops_and_waits():
    emr, stub = stubbed(
        ["STARTED", "STARTED", "STOPPING", "STOPPED", "STOPPED"],
        [[job_run("r1", "RUNNING")], [job_run("r1", "CANCELLING")], []],
        cancel=["r1"],
    )
    state = predestroy.stop_application(emr, "00fabc", cancel_jobs=True, poll=0, say=lambda _: None)
    assert state == "STOPPED"
    stub.assert_no_pending_responses()


def test_an_application_that_does_not_stop_in_time_fails_naming_the_wait():
    emr, _ = stubbed(["STOPPING", "STOPPING", "STOPPING"], [[], []], stop=False)
    with pytest.raises(predestroy.NotStopped, match="STOPPED"):
        predestroy.stop_application(emr, "00fabc", timeout=0, poll=0, say=lambda _: None)
