"""A structured log line and an EMF metric for each refused request.

Powertools does not fit a Lambda@Edge package (no layers, 1 MB zipped), so this writes
the shapes it would: a JSON log line with the service name, the reason and request ids
(never the token), and an `_aws` line that CloudWatch turns into
`Moderation/EdgeRequestsRefused`. Allowed requests write nothing (the AWS/Lambda
Invocations metric counts them), so the happy path costs no log ingestion.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

SERVICE = "edge_auth"
NAMESPACE = "Moderation"


def _write(doc: dict) -> None:
    sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")


def refused(status: int, reason: str, cf_config: dict[str, Any], uri: str, context: Any) -> None:
    now_ms = int(time.time() * 1000)
    _write(
        {
            "level": "INFO",
            "message": "request refused",
            "service": SERVICE,
            "timestamp": now_ms,
            "status": status,  # not a job attribute: the HTTP status
            "reason": reason,
            "uri": uri,
            "distribution_id": cf_config.get("distributionId"),
            "cf_request_id": cf_config.get("requestId"),
            "function_request_id": getattr(context, "aws_request_id", None),
        }
    )
    _write(
        {
            "_aws": {
                "Timestamp": now_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["service"]],
                        "Metrics": [{"Name": "EdgeRequestsRefused", "Unit": "Count"}],
                    }
                ],
            },
            "service": SERVICE,
            "EdgeRequestsRefused": 1,
        }
    )
    sys.stdout.flush()
