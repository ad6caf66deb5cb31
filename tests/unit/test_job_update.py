"""The job update builder and the `(won, item)` helper every conditional write uses."""

import pytest
from botocore.exceptions import ClientError

from common.conditional import conditional
from common.contract import Branch, JobAttr, Status
from common.jobs import Update


def test_the_builder_names_every_placeholder_and_puts_set_before_remove():
    update = Update().remove(JobAttr.DISPATCH_LEASE).set(JobAttr.STATUS, Status.COMPLETE)
    update.set(JobAttr.COMPLETED_AT, "t").increment(JobAttr.ATTEMPTS)
    update.when(update.equals(JobAttr.STATUS, Status.ANALYZING))
    request = update.request()
    assert request["UpdateExpression"] == (
        "SET #status = :v0, #completed_at = :v1, "
        "#attempts = if_not_exists(#attempts, :v2) + :v3 REMOVE #dispatch_lease"
    )
    assert request["ConditionExpression"] == "#status = :v4"
    assert request["ExpressionAttributeNames"] == {
        "#dispatch_lease": "dispatch_lease",
        "#status": "status",
        "#completed_at": "completed_at",
        "#attempts": "attempts",
    }
    assert request["ExpressionAttributeValues"] == {
        ":v0": {"S": "complete"},
        ":v1": {"S": "t"},
        ":v2": {"N": "0"},
        ":v3": {"N": "1"},
        ":v4": {"S": "analyzing"},
    }


def test_every_value_gets_its_own_placeholder_whatever_the_caller_adds():
    update = Update().set(JobAttr.REASONS, ["a"]).set(JobAttr.REUSED_FROM, "job-1")
    update.set(JobAttr.VERDICT_KEY, "k").set(JobAttr.UPDATED_AT, "t")
    update.when(
        update.any_of(update.absent(Branch.TEXT.result_attribute), update.exists(JobAttr.DECISION))
    )
    request = update.request()
    used = request["UpdateExpression"] + " " + request["ConditionExpression"]
    for placeholder in [
        *request["ExpressionAttributeNames"],
        *request["ExpressionAttributeValues"],
    ]:
        assert placeholder in used
    assert len(request["ExpressionAttributeValues"]) == 4
    assert request["ConditionExpression"] == (
        "(attribute_not_exists(#text_result) OR attribute_exists(#decision))"
    )


def test_an_update_without_a_change_is_refused():
    with pytest.raises(ValueError, match="SET or REMOVE"):
        Update().when("x").request()


def _failing(code, item=None):
    def write():
        response = {"Error": {"Code": code, "Message": "m"}}
        if item is not None:
            response["Item"] = item
        raise ClientError(response, "UpdateItem")

    return write


def test_conditional_returns_the_item_after_a_win_and_before_a_loss():
    assert conditional(lambda: {"Attributes": {"a": 1}}) == (True, {"a": 1})
    assert conditional(lambda: {}) == (True, None)
    old = {"job_id": {"S": "j"}}
    assert conditional(_failing("ConditionalCheckFailedException", old)) == (False, old)
    assert conditional(_failing("ConditionalCheckFailedException")) == (False, None)


def test_conditional_raises_any_other_error():
    with pytest.raises(ClientError):
        conditional(_failing("ProvisionedThroughputExceededException"))
