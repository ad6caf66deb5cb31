"""HttpApi: an API Gateway HTTP API whose routes are Lambda functions behind a JWT authorizer.

Every route requires a valid token from the configured issuer (the handler reads the
caller from the claims, never from the body); each has its own throttle; access logs
go to a log group with retention, in a JSON format the dashboard reads.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.function import LambdaFunction
from components.settings import RouteThrottle

# API Gateway gives up on an integration after 30 s.
MAX_INTEGRATION_TIMEOUT_MS = 30_000

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "sub": "$context.authorizer.claims.sub",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    }
)


@dataclass
class Route:
    key: str  # "POST /jobs"
    function: LambdaFunction
    timeout_seconds: int
    throttle: RouteThrottle


@dataclass
class HttpApiArgs:
    prefix: str
    issuer: pulumi.Input[str]
    audience: pulumi.Input[list[str]]
    routes: list[Route]
    default_throttle: RouteThrottle
    log_retention_days: int
    cors_origins: tuple[str, ...] = ()
    description: str = ""
    headers: list[str] = field(
        default_factory=lambda: ["authorization", "content-type", "idempotency-key"]
    )


def _source_arn(execution_arn: str, route_key: str) -> str:
    """The execute-api ARN pattern that lets API Gateway invoke the function for one route.

    Each path parameter matches one segment (`/jobs/{job_id}/review` -> `/jobs/*/review`);
    a path without one keeps its trailing `*`.
    """
    method, path = route_key.split()
    if "{" not in path:
        return f"{execution_arn}/*/{method}{path}*"
    return f"{execution_arn}/*/{method}{re.sub(r'[{][^}]+[}]', '*', path)}"


def _slug(route_key: str) -> str:
    """`POST /jobs/{job_id}/review` -> `post-jobs-job-id-review`, for resource names."""
    return re.sub(r"[^a-z0-9]+", "-", route_key.lower()).strip("-")


class HttpApi(Component):
    def __init__(
        self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        methods = sorted({r.key.split()[0] for r in args.routes})
        self.api = aws.apigatewayv2.Api(
            name,
            name=f"{args.prefix}-api",
            protocol_type="HTTP",
            description=args.description,
            cors_configuration={
                "allow_origins": list(args.cors_origins),
                "allow_methods": methods,
                "allow_headers": args.headers,
                "max_age": 600,
            }
            if args.cors_origins
            else None,
            opts=self.opts(),
        )
        self.authorizer = aws.apigatewayv2.Authorizer(
            self.child("jwt"),
            api_id=self.api.id,
            name="jwt",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration={"issuer": args.issuer, "audiences": args.audience},
            opts=self.opts(),
        )
        self.access_logs = aws.cloudwatch.LogGroup(
            self.child("access-logs"),
            name=f"/aws/apigateway/{args.prefix}-api",
            retention_in_days=args.log_retention_days,
            opts=self.opts(),
        )
        routes = []
        # One integration per function; a function serving several routes (the review
        # function) names its routes and permissions after each route.
        integrations: dict[str, aws.apigatewayv2.Integration] = {}
        per_function: dict[str, int] = {}
        for route in args.routes:
            per_function[route.function.logical_name] = (
                per_function.get(route.function.logical_name, 0) + 1
            )
        for route in args.routes:
            fn = route.function
            integration = integrations.get(fn.logical_name)
            if integration is None:
                integration = integrations[fn.logical_name] = aws.apigatewayv2.Integration(
                    self.child(f"{fn.logical_name}-integration"),
                    api_id=self.api.id,
                    integration_type="AWS_PROXY",
                    integration_uri=fn.function.invoke_arn,
                    payload_format_version="2.0",
                    timeout_milliseconds=min(
                        MAX_INTEGRATION_TIMEOUT_MS, route.timeout_seconds * 1000 + 1000
                    ),
                    opts=self.opts(),
                )
            own = (
                fn.logical_name
                if per_function[fn.logical_name] == 1
                else f"{fn.logical_name}-{_slug(route.key)}"
            )
            routes.append(
                aws.apigatewayv2.Route(
                    self.child(f"{own}-route"),
                    api_id=self.api.id,
                    route_key=route.key,
                    target=integration.id.apply(lambda i: f"integrations/{i}"),
                    authorization_type="JWT",
                    authorizer_id=self.authorizer.id,
                    opts=self.opts(),
                )
            )
            aws.lambda_.Permission(
                self.child(f"{own}-permission"),
                action="lambda:InvokeFunction",
                function=fn.function.name,
                principal="apigateway.amazonaws.com",
                source_arn=self.api.execution_arn.apply(
                    functools.partial(_source_arn, route_key=route.key)
                ),
                opts=self.opts(),
            )
        self.stage = aws.apigatewayv2.Stage(
            self.child("default-stage"),
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": args.default_throttle.rate,
                "throttling_burst_limit": args.default_throttle.burst,
                "detailed_metrics_enabled": True,
            },
            route_settings=[
                {
                    "route_key": r.key,
                    "throttling_rate_limit": r.throttle.rate,
                    "throttling_burst_limit": r.throttle.burst,
                }
                for r in args.routes
            ],
            access_log_settings={
                "destination_arn": self.access_logs.arn,
                "format": ACCESS_LOG_FORMAT,
            },
            opts=self.opts(depends_on=routes),
        )
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.url})
