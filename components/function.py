"""One Lambda function with everything it owns: role, scoped policy, log group, layer.

Before anything is declared, its package and environment are checked against Lambda's
limits (`function_package.py`): a too-large package or environment fails preview.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import function_package, packaging
from components.base import Component
from components.settings import StackSettings
from lambdas.common.contract import METRICS_NAMESPACE, TERMINAL_STATUSES, JobAttr

LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def statement(sid: str, actions: list[str], resources: pulumi.Input[list[Any]]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy document whose resources may be Outputs."""
    return pulumi.Output.from_input(statements).apply(
        lambda resolved: json.dumps(
            {"Version": "2012-10-17", "Statement": resolved}, sort_keys=True
        )
    )


def physical_name(settings: StackSettings, logical: str) -> str:
    return f"{settings.prefix}-{logical.replace('_', '-')}"


@dataclass
class FunctionSpec:
    name: str
    environment: dict[str, Any]
    statements: list[dict[str, Any]]
    description: str
    vpc_config: aws.lambda_.FunctionVpcConfigArgsDict | None = None
    extra_sources: tuple[Path, ...] = ()
    extra_layers: list[pulumi.Input[str]] = field(default_factory=list)
    # Third-party packages an optional component adds (e.g. `redis` for the status cache),
    # on top of `lambdas/<name>/requirements.txt`; the code imports them only when enabled.
    extra_requirements: tuple[str, ...] = ()
    # Baked into the package as `function_config.json` (rules too large for the 4 KB
    # environment); read by `common/function_config.py`.
    config: dict[str, Any] | None = None
    # Converted model files (from `.build/models/`), copied into the package's `models/`.
    model_files: tuple[Path, ...] = ()
    # > 0: a `live` alias with this much provisioned concurrency (callers invoke the alias).
    provisioned_concurrency: int = 0


LIVE_ALIAS = "live"


def check_environment(name: str, environment: dict[str, Any]) -> None:
    """Lambda's 4 KB environment limit: checked on the known values now (preview fails
    here), and on every value once the resources' outputs are known."""
    known = {k: v for k, v in environment.items() if isinstance(v, str)}
    function_package.check_environment(name, known)
    pending = {k: v for k, v in environment.items() if not isinstance(v, str) and v is not None}
    if pending:
        pulumi.Output.all(**pending).apply(
            lambda resolved: function_package.check_environment(name, {**known, **resolved})
        )


class LambdaFunction(Component):
    """A function, its own execution role and inline policy, and its log group.

    The log group is declared (not left to Lambda to create on first write) so it
    has a retention period and `pulumi destroy` removes it. The component is named
    `<owner>-<function>`; `spec.name` is the function's logical name (contract.Function).
    """

    def __init__(
        self,
        name: str,
        spec: FunctionSpec,
        settings: StackSettings,
        opts: pulumi.ResourceOptions | None = None,
        artifacts: aws.s3.Bucket | None = None,
    ) -> None:
        super().__init__(name, opts)
        child = self.opts()
        cfg = settings.function(spec.name)
        self.logical_name = spec.name
        self.function_name = physical_name(settings, spec.name)
        environment = {
            "POWERTOOLS_SERVICE_NAME": spec.name,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_TRACE_DISABLED": "false" if settings.tracing else "true",
            **spec.environment,
        }
        check_environment(spec.name, environment)
        code_dir = packaging.stage_function(
            spec.name, spec.extra_sources, spec.config, spec.model_files
        )

        self.log_group = aws.cloudwatch.LogGroup(
            self.child("logs"),
            name=f"/aws/lambda/{self.function_name}",
            retention_in_days=settings.log_retention_days,
            opts=child,
        )
        log_statements = [
            statement(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [self.log_group.arn.apply(lambda arn: f"{arn}:*")],
            )
        ]
        if settings.tracing:
            # X-Ray has no resource-level permissions: AWS requires "*" here.
            log_statements.append(
                statement("Tracing", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"])
            )
        if spec.vpc_config is not None:
            # ENI management has no resource-level scoping for Create/Describe: AWS requires "*".
            log_statements.append(
                statement(
                    "VpcNetworking",
                    # What AWSLambdaVPCAccessExecutionRole grants (DescribeSubnets since 2024).
                    [
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    ["*"],
                )
            )

        self.role = aws.iam.Role(
            self.child("role"),
            name=self.function_name,
            assume_role_policy=LAMBDA_TRUST,
            description=f"Execution role of {self.function_name} only",
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(
            self.child("policy"),
            role=self.role.id,
            policy=policy_json(spec.statements + log_statements),
            opts=child,
        )

        layers = list(spec.extra_layers)
        # What goes into the layer is the same for AWS and the local cloud (packaging.py).
        deps = packaging.layer_requirements(spec.name, spec.extra_requirements)
        if settings.dependency_layer == "build":
            services = packaging.function_services(spec.name, spec.extra_sources)
            layer_dir = packaging.build_dependencies(deps, settings.architecture, services=services)
            self.unzipped_bytes = function_package.check_unzipped(spec.name, code_dir, [layer_dir])
            self.layer = self._layer(layer_dir, deps, settings, artifacts)
            layers.append(self.layer.arn)
        elif settings.dependency_layer == "host":
            # The local cloud: the same layer for this machine, archived from its directory.
            services = packaging.function_services(spec.name, spec.extra_sources)
            layer_dir = packaging.build_host_layer(deps, services)
            self.layer = aws.lambda_.LayerVersion(
                self.child("deps"),
                code=pulumi.FileArchive(str(layer_dir)),
                **self._layer_args(deps, settings),
                opts=self.opts(),
            )
            layers.append(self.layer.arn)

        self.function = aws.lambda_.Function(
            self.child("function"),
            name=self.function_name,
            description=spec.description,
            role=self.role.arn,
            runtime=packaging.RUNTIME,
            handler=f"{spec.name}.handler.handler",
            code=pulumi.FileArchive(str(code_dir)),
            architectures=[settings.architecture],
            memory_size=cfg.memory,
            timeout=cfg.timeout,
            reserved_concurrent_executions=cfg.reserved_concurrency,
            environment={"variables": environment},
            tracing_config={"mode": "Active" if settings.tracing else "PassThrough"},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            layers=layers or None,
            vpc_config=spec.vpc_config,
            publish=spec.provisioned_concurrency > 0,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        self.arn = self.function.arn
        self.name = self.function.name
        # What callers invoke: the function, or its provisioned `live` alias.
        self.invoke_name: pulumi.Output[str] = self.function.name
        self.invoke_arn: pulumi.Output[str] = self.function.arn
        self.alias: aws.lambda_.Alias | None = None
        if spec.provisioned_concurrency > 0:
            self.alias = aws.lambda_.Alias(
                self.child("live"),
                name=LIVE_ALIAS,
                function_name=self.function.name,
                function_version=self.function.version,
                description="Provisioned, initialised environments (models loaded)",
                opts=child,
            )
            aws.lambda_.ProvisionedConcurrencyConfig(
                self.child("provisioned"),
                function_name=self.function.name,
                qualifier=self.alias.name,
                provisioned_concurrent_executions=spec.provisioned_concurrency,
                opts=child,
            )
            self.invoke_name = pulumi.Output.concat(self.function.name, ":", LIVE_ALIAS)
            self.invoke_arn = self.alias.arn
        self.register_outputs(
            {"arn": self.function.arn, "name": self.function.name, "role": self.role.arn}
        )

    def _layer_args(self, deps: list[str], settings: StackSettings) -> dict[str, Any]:
        return {
            "layer_name": f"{self.function_name}-deps",
            "compatible_runtimes": [packaging.RUNTIME],
            "compatible_architectures": [settings.architecture],
            "description": ", ".join(deps)[:256],
        }

    def _layer(
        self,
        layer_dir: Path,
        deps: list[str],
        settings: StackSettings,
        artifacts: aws.s3.Bucket | None,
    ) -> aws.lambda_.LayerVersion:
        """The dependency layer; a zip over 50 MB goes through the artifacts bucket."""
        common = self._layer_args(deps, settings)
        zip_path = function_package.layer_zip(layer_dir)
        if not function_package.needs_s3(zip_path):
            return aws.lambda_.LayerVersion(
                self.child("deps"),
                code=pulumi.FileArchive(str(layer_dir)),
                **common,
                opts=self.opts(),
            )
        if artifacts is None:
            raise function_package.PackageTooLarge(
                f"the dependency layer of {self.logical_name} is {zip_path.stat().st_size} bytes "
                f"zipped, over the {function_package.DIRECT_UPLOAD_LIMIT} bytes Lambda accepts "
                "directly, and no artifacts bucket was given to upload it through"
            )
        obj = aws.s3.BucketObjectv2(
            self.child("deps-zip"),
            bucket=artifacts.id,
            key=f"layers/{zip_path.name}",
            source=pulumi.FileAsset(str(zip_path)),
            opts=self.opts(),
        )
        return aws.lambda_.LayerVersion(
            self.child("deps"),
            s3_bucket=obj.bucket,
            s3_key=obj.key,
            source_code_hash=function_package.source_code_hash(zip_path),
            **common,
            opts=self.opts(),
        )


# Only writes that leave a job `complete` or `failed` pass this filter: the stream's
# consumers (notifier, exporter) act on terminal jobs only, and Lambda does not even
# invoke them for the other writes.
TERMINAL_WRITES = json.dumps(
    {"dynamodb": {"NewImage": {JobAttr.STATUS: {"S": [str(st) for st in TERMINAL_STATUSES]}}}}
)


def terminal_stream_mapping(
    name: str,
    stream_arn: pulumi.Input[str],
    fn: LambdaFunction,
    *,
    batch_size: int,
    batching_window: int,
    retries: int,
    failure_queue_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.lambda_.EventSourceMapping:
    """A jobs-table stream mapping for terminal writes: partial batch responses, bisect on
    error, and an on-failure destination before the stream's 24 h retention runs out."""
    return aws.lambda_.EventSourceMapping(
        name,
        event_source_arn=stream_arn,
        function_name=fn.function.arn,
        starting_position="TRIM_HORIZON",
        batch_size=batch_size,
        maximum_batching_window_in_seconds=batching_window,
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=retries,
        maximum_record_age_in_seconds=86400,
        function_response_types=["ReportBatchItemFailures"],
        filter_criteria={"filters": [{"pattern": TERMINAL_WRITES}]},
        destination_config={"on_failure": {"destination_arn": failure_queue_arn}},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[fn]),
    )
