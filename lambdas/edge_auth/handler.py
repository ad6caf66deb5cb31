"""Lambda@Edge viewer request: pass requests with a valid user-pool token, refuse the rest.

Lambda@Edge has no environment variables, so the issuer, app client id, expected
`token_use` and the pool's JWKS come from `config.json`, written into the package at
deploy time (components/packaging.py build_edge_function). A request that passes is
returned unchanged; CloudFront then serves it from cache or the private bucket.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from edge_auth import telemetry, viewer
from edge_auth.tokens import UNAUTHENTICATED, Outcome, Verifier

CONFIG_FILE = Path(__file__).with_name("config.json")
VERIFIER = Verifier.from_config(json.loads(CONFIG_FILE.read_text()))


def handler(event: dict, context) -> dict:
    cf = event["Records"][0]["cf"]
    request = cf["request"]
    token = viewer.token_from(request, VERIFIER.cookie_name)
    if token is None:
        outcome = Outcome(UNAUTHENTICATED, "missing")
    else:
        outcome = VERIFIER.verify(token, time.time())
    if outcome.allowed:
        return request
    telemetry.refused(
        outcome.status, outcome.reason, cf.get("config") or {}, request.get("uri", ""), context
    )
    return viewer.refusal(outcome.status, token_presented=token is not None)
