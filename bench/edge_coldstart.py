"""Lambda@Edge viewer-request function: package size, cold import, and per-request cost.

Builds the package exactly as a deploy does (with a freshly generated key's JWKS),
then measures in fresh `python -I -S -B` interpreters with only the package on
sys.path (what Lambda@Edge has: no site-packages, no writable code directory, so no
cached bytecode):

- zipped size against the 1 MB viewer-request limit;
- import time of the handler module (the cold-start work this code adds on top of the
  runtime's own start), over several fresh processes;
- time per request for a valid token, a forged one (bad signature) and no token.

Prints one JSON object. Run: `.venv/bin/python bench/edge_coldstart.py [--imports N] [--requests N]`.
Figures are from this machine's CPython, not Lambda's; use them to compare changes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components import packaging  # noqa: E402
from local.twins.idp import CLIENT_ID, LocalIdentityProvider  # noqa: E402

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Bench"

IMPORT_PROBE = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
t = time.perf_counter()
import edge_auth.handler
print(json.dumps({"import_ms": (time.perf_counter() - t) * 1000,
                  "cryptography": any(m.split(".")[0] == "cryptography" for m in sys.modules)}))
"""

REQUEST_PROBE = r"""
import io, json, sys, time
sys.path.insert(0, sys.argv[1])
import edge_auth.handler as h
batches = json.loads(sys.stdin.read())

class Ctx:
    aws_request_id = "bench"

out = {}
for name, events in batches.items():
    times, statuses = [], set()
    real = sys.stdout
    for event in events:
        sys.stdout = io.StringIO()
        t = time.perf_counter()
        result = h.handler(event, Ctx())
        times.append((time.perf_counter() - t) * 1000)
        sys.stdout = real
        statuses.add(result.get("status", "pass"))
    out[name] = {"times_ms": times, "statuses": sorted(statuses)}
print(json.dumps(out))
"""


def isolated(code: str, package: Path, stdin: str = "") -> dict:
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(package)],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        cwd=package.parent,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    return json.loads(proc.stdout)


def event(authorization: str | None) -> dict:
    headers = {"host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}]}
    if authorization is not None:
        headers["authorization"] = [{"key": "Authorization", "value": authorization}]
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionId": "EBENCH",
                        "requestId": "r",
                        "eventType": "viewer-request",
                    },
                    "request": {
                        "clientIp": "203.0.113.1",
                        "headers": headers,
                        "method": "GET",
                        "querystring": "",
                        "uri": "/content/x",
                    },
                }
            }
        ]
    }


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "n": len(times),
        "mean_ms": round(statistics.fmean(times), 3),
        "p50_ms": round(ordered[len(ordered) // 2], 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "max_ms": round(ordered[-1], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--imports", type=int, default=10, help="fresh interpreters to time")
    parser.add_argument("--requests", type=int, default=300, help="requests per kind")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        idp = LocalIdentityProvider(Path(tmp) / "key.pem", ISSUER, CLIENT_ID)
        config = {
            "issuer": ISSUER,
            "client_id": CLIENT_ID,
            "token_use": "id",
            "jwks": idp.jwks(),
            "leeway_seconds": 30,
            "max_token_bytes": 8192,
            "max_header_bytes": 1024,
            "cookie_name": "id_token",
        }
        package = packaging.build_edge_function("edge_auth", config)
        imports = [isolated(IMPORT_PROBE, package.directory) for _ in range(args.imports)]
        tokens = [idp.token(f"user-{i}") for i in range(args.requests)]
        forged = [
            t[:-8] + ("AAAAAAAA" if not t.endswith("AAAAAAAA") else "BBBBBBBB") for t in tokens
        ]
        batches = {
            "valid_token": [event(f"Bearer {t}") for t in tokens],
            "forged_signature": [event(f"Bearer {t}") for t in forged],
            "no_token": [event(None) for _ in tokens],
        }
        runs = isolated(REQUEST_PROBE, package.directory, json.dumps(batches))

    import_ms = [r["import_ms"] for r in imports]
    report = {
        "package": {
            "zipped_bytes": package.zipped_bytes,
            "limit_bytes": packaging.EDGE_VIEWER_ZIP_LIMIT,
            "headroom_pct": round(
                100 * (1 - package.zipped_bytes / packaging.EDGE_VIEWER_ZIP_LIMIT), 1
            ),
            "vendored": package.versions,
        },
        "cold_import": {
            **summary(import_ms),
            "cryptography_imported": any(r["cryptography"] for r in imports),
            "python": sys.version.split()[0],
        },
        "requests": {
            name: {**summary(r["times_ms"]), "outcomes": r["statuses"]} for name, r in runs.items()
        },
        "notes": "first request of each kind includes one-time work (key objects are built at "
        "import); the function is configured with 128 MB and a 5 s timeout",
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
