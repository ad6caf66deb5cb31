"""Run the Pulumi program against a running local endpoint and save what it declared.

Runs in its own process (`python -m local.materialize ...`) so the Pulumi SDK and
provider bindings are not kept in the local cloud's memory after start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3
from botocore.config import Config

from local import program
from local.mocks import LocalMocks
from local.registry import Registry
from local.twins import edge as edge_twins


def clients_for(endpoint: str, region: str):
    cache: dict = {}
    config = Config(retries={"mode": "standard", "max_attempts": 5})

    def client(service: str):
        if service not in cache:
            cache[service] = boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=config,
            )
        return cache[service]

    return client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--stack", default="local")
    parser.add_argument("--config", required=True, help="JSON object of moderation: settings")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--cdn", default=None, help="host:port of the local CDN (edge auth)")
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("LOCAL_CACHE_URL"),
        help="admin URL of the local redis-server behind the status cache (default: "
        "$LOCAL_CACHE_URL, which keeps its password off the command line)",
    )
    args = parser.parse_args(argv)

    registry = Registry()
    clients = clients_for(args.endpoint, args.region)
    extra_handlers = edge_twins.handlers(registry, args.region, cdn_host=args.cdn)
    if args.cache_url:
        from local.twins import elasticache as cache_server

        extra_handlers.update(
            cache_server.mock_handlers(args.cache_url, clients, registry, args.region)
        )
    mocks = LocalMocks(clients, registry, args.region, args.gateway, extra_handlers=extra_handlers)
    try:
        exports = program.run(mocks, json.loads(args.config), args.stack)
    except Exception as exc:  # noqa: BLE001 - reported to the CLI exactly as pulumi preview would
        print(f"the program failed: {exc}", file=sys.stderr)
        return 2
    if args.cache_url:
        cache_server.localize(registry, args.cache_url)
    registry.save(args.out / "registry.json")
    (args.out / "outputs.json").write_text(json.dumps(exports, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
