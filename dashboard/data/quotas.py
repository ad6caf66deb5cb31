"""Who is near their daily upload quota: one Query of the usage table's day index.

The upload function counts each upload in the user's day item (`lambdas/common/quotas.py`);
the index on (day, day_count) hands back the day's heaviest uploaders, most first, so
this reads `limit` entries whatever the number of users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from lambdas.common import quotas as behaviour
from lambdas.common.contract import USAGE_DAY_INDEX, Output

COLUMNS = ["user_id", "uploads", "quota", "used", "near"]
# A user at or above this share of the day's quota is flagged.
NEAR_SHARE = 0.8


def near_quota(ddb: Any, table: str, per_day: int, now: datetime, limit: int = 20) -> pd.DataFrame:
    """Today's heaviest uploaders: uploads, the quota, the share used, and `near` (>= 80%)."""
    rows = []
    for usage in behaviour.heaviest(ddb, table, USAGE_DAY_INDEX, now, limit):
        used = usage.uploads / per_day if per_day else 0.0
        rows.append(
            {
                "user_id": usage.user_id,
                "uploads": usage.uploads,
                "quota": per_day,
                "used": round(used, 3),
                "near": used >= NEAR_SHARE,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def usage_target(outputs: dict[str, Any]) -> tuple[str, int] | None:
    """The usage table and the daily quota from the stack outputs; None without limits."""
    table = outputs.get(Output.USAGE_TABLE)
    per_day = outputs.get(Output.UPLOADS_PER_DAY)
    if not table or not per_day:
        return None
    return str(table), int(per_day)
