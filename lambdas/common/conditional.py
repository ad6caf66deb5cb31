"""One conditional DynamoDB write, as `(won, item)`.

Every conditional write in `common/` (the job's transitions in `jobs.py`, a stored
verdict in `verdicts.py`, the sweeper's run lease in `lease.py`) goes through
`conditional`: a failed condition is an answer, not an error, and with
`ReturnValuesOnConditionCheckFailure="ALL_OLD"` the answer carries the item as it was,
so no write needs a read before or after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

CONDITION_FAILED = "ConditionalCheckFailedException"


def conditional(write: Callable[[], Any]) -> tuple[bool, dict[str, Any] | None]:
    """Run `write()`: a client's put_item, update_item or delete_item, called in a lambda
    (`conditional(lambda: ddb.put_item(...))`), so the call and its table stay where the
    IAM coverage test reads them.

    Returns `(True, Attributes)` when it wrote (None when the request asked for no item
    back), or `(False, item)` when its condition failed: the item as it was when the
    request asked for it (None when it did not, or no item exists). Any other error is
    raised.
    """
    try:
        out = write()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != CONDITION_FAILED:
            raise
        item = exc.response.get("Item")
        return False, item if isinstance(item, dict) else None
    attributes = out.get("Attributes") if isinstance(out, dict) else None
    return True, attributes if isinstance(attributes, dict) else None
