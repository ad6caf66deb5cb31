"""StatusCache: ElastiCache (Valkey or Redis OSS) in a private VPC in front of the jobs table.

Clients poll `GET /jobs/{id}` until a job is done, so at scale status polls are most
of the table's reads. The status function reads through two tiers (an in-process LRU
in each warm execution environment, then this cache) and only a miss reaches
DynamoDB; see `lambdas/common/status_cache.py` for the TTL rules.

What this component declares, and why:
- A VPC with two private subnets in two AZs (or the VPC and subnets given in config).
  No internet gateway and no NAT: the status function needs exactly two AWS APIs, and
  each gets a VPC endpoint (DynamoDB gateway endpoint: free; Secrets Manager interface
  endpoint: see the cost note below).
- The cache, encrypted in transit (TLS is required) and at rest. Serverless caches
  authenticate only through RBAC, so they get a user group with one password user for
  the status function (plus the disabled `default` user that a group must contain);
  node-based replication groups use an AUTH token. Either way the password comes from
  `pulumi_random.RandomPassword` and reaches the function through Secrets Manager, read
  once per cold start: an environment variable would show it to anyone who may read
  the function's configuration (`lambda:GetFunctionConfiguration`).
- Security groups: the cache admits only the status function's group, only on the
  cache port; the status function may reach only the cache, the DynamoDB prefix list
  and the Secrets Manager endpoint.

Only the status function joins the VPC. A VPC function has no internet access without
a NAT gateway (~$33/month per AZ plus data), needs an endpoint for every AWS API it
calls, takes subnet IPs for its Hyperplane ENIs and waits minutes for them on every
create/update; the other functions call S3, SQS, SNS, Rekognition and Lambda and gain
nothing from the cache, so they stay outside.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.base import Component
from components.function import statement
from components.pipeline_functions import CacheInputs
from components.settings import CachingSettings, StackSettings
from lambdas.common.contract import Env

CACHE_PORT = 6379  # serverless: the primary (read/write) endpoint; 6380 (readers) stays closed
HTTPS = 443
# The status function's cache user may only read and write status entries.
STATUS_KEY_PATTERN = "status:job:*"
STATUS_ACCESS_STRING = f"on ~{STATUS_KEY_PATTERN} -@all +get +set"
# A user group must contain a user named `default`; this one can never log in.
DISABLED_DEFAULT_ACCESS_STRING = "off -@all"
ENGINE_VERSIONS = {
    # (serverless major version, replication-group engine version)
    "valkey": ("8", "8.0"),
    "redis": ("7", "7.1"),
}


class _EgressTarget(TypedDict, total=False):
    """Where the status function's Secrets Manager egress rule points: one of the two."""

    cidr_ipv4: pulumi.Input[str]
    referenced_security_group_id: pulumi.Input[str]


@dataclass
class StatusCacheArgs:
    settings: StackSettings


def _ident(text: str) -> str:
    """ElastiCache ids: lowercase letters, digits and hyphens, starting with a letter."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def _endpoint_policy(sid: str, action: str, resource: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": [action],
                    "Resource": resource,
                }
            ],
        }
    )


def subnet_route_tables(vpc_id: str, subnet_ids: Sequence[str]) -> pulumi.Output[list[str]]:
    """The route tables the subnets use, each once (subnets may share one).

    A subnet with no explicit association uses its VPC's main route table, which a
    lookup by `association.subnet-id` does not find; those fall back to the main table.
    """
    explicit = [
        aws.ec2.get_route_tables_output(
            vpc_id=vpc_id, filters=[{"name": "association.subnet-id", "values": [sid]}]
        ).ids
        for sid in subnet_ids
    ]
    main = aws.ec2.get_route_tables_output(
        vpc_id=vpc_id, filters=[{"name": "association.main", "values": ["true"]}]
    ).ids

    def resolve(found: list[list[str]]) -> list[str]:
        *per_subnet, main_ids = found
        tables = {t for ids in per_subnet for t in (ids or [])}
        if any(not ids for ids in per_subnet):
            if not main_ids:
                raise ValueError(
                    f"moderation:caching.subnetIds: VPC {vpc_id} has no main route table to "
                    "fall back to for a subnet without one; set "
                    "`pulumi config set --path moderation:caching.routeTableIds[0] rtb-...`."
                )
            tables.update(main_ids)
        return sorted(tables)

    return pulumi.Output.all(*explicit, main).apply(resolve)


def _first_two(names: list[str] | None, index: int) -> str | None:
    # Under mocks the AZ lookup may return nothing; AWS always returns >= 2 in a region.
    return names[index] if names and len(names) > index else None


class StatusCache(Component):
    def __init__(
        self, name: str, args: StatusCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        s = args.settings
        c = s.caching
        child = pulumi.ResourceOptions(parent=self)
        prefix = s.prefix
        ident = _ident(prefix)
        region = aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id
        self.serverless = c.node_type == "serverless"

        # --- network -----------------------------------------------------------------
        route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
        if c.vpc_id is None:
            self.vpc_id, self.subnet_ids, route_table_ids = self._create_network(prefix, c, child)
        else:
            self.vpc_id = pulumi.Output.from_input(c.vpc_id)
            self.subnet_ids = [pulumi.Output.from_input(sid) for sid in c.subnet_ids]
            # Only the DynamoDB gateway endpoint needs them (when this stack creates it).
            route_table_ids = (
                list(c.route_table_ids)
                if c.route_table_ids or not c.create_vpc_endpoints
                else subnet_route_tables(c.vpc_id, c.subnet_ids)
            )

        self.function_sg = aws.ec2.SecurityGroup(
            self.child("function-sg"),
            name=f"{prefix}-status-function",
            description="The status function: egress to the cache and its VPC endpoints only",
            vpc_id=self.vpc_id,
            opts=child,
        )
        self.cache_sg = aws.ec2.SecurityGroup(
            self.child("sg"),
            name=f"{prefix}-status-cache",
            description="The status cache: ingress from the status function only",
            vpc_id=self.vpc_id,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            self.child("ingress-from-function"),
            security_group_id=self.cache_sg.id,
            referenced_security_group_id=self.function_sg.id,
            ip_protocol="tcp",
            from_port=CACHE_PORT,
            to_port=CACHE_PORT,
            description="status function -> cache",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            self.child("function-to-cache"),
            security_group_id=self.function_sg.id,
            referenced_security_group_id=self.cache_sg.id,
            ip_protocol="tcp",
            from_port=CACHE_PORT,
            to_port=CACHE_PORT,
            description="status function -> cache",
            opts=child,
        )

        # --- secret ------------------------------------------------------------------
        self.password = random.RandomPassword(
            self.child("password"),
            length=48,
            special=False,  # ElastiCache refuses several specials in AUTH tokens/passwords
            opts=child,
        )
        # Auto-named (no `name`): a deleted secret keeps its name for the recovery window,
        # so a fixed name would make `pulumi up` after `pulumi destroy` fail. The status
        # function reads it by ARN (CACHE_SECRET_ARN).
        self.secret = aws.secretsmanager.Secret(
            self.child("credentials"),
            description="Credentials the status function uses for the status cache",
            recovery_window_in_days=0 if s.force_destroy else 7,
            opts=child,
        )

        # --- endpoints for the only two AWS APIs the status function calls -------------
        if c.create_vpc_endpoints:
            dynamodb_prefix_list, secrets_egress = self._create_endpoints(
                prefix, region, account, route_table_ids, child, own_vpc=c.vpc_id is None
            )
        else:
            # The VPC's own endpoints serve us; their policies and security groups must
            # admit this function (see README, "Status cache").
            dynamodb_prefix_list = aws.ec2.get_prefix_list_output(
                name=region.apply(lambda r: f"com.amazonaws.{r}.dynamodb")
            ).id
            secrets_egress = {
                "cidr_ipv4": aws.ec2.get_vpc_output(id=self.vpc_id).cidr_block,
            }
        aws.vpc.SecurityGroupEgressRule(
            self.child("function-to-dynamodb"),
            security_group_id=self.function_sg.id,
            prefix_list_id=dynamodb_prefix_list,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="status function -> DynamoDB (gateway endpoint)",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            self.child("function-to-secretsmanager"),
            security_group_id=self.function_sg.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="status function -> Secrets Manager (interface endpoint)",
            opts=child,
            **secrets_egress,
        )

        # --- the cache ---------------------------------------------------------------
        serverless_version, node_version = ENGINE_VERSIONS[c.engine]
        if self.serverless:
            username = "status-function"
            users = [
                aws.elasticache.User(
                    self.child("user"),
                    user_id=f"{ident}-status",
                    user_name=username,
                    engine=c.engine,
                    access_string=STATUS_ACCESS_STRING,
                    authentication_mode={"type": "password", "passwords": [self.password.result]},
                    opts=child,
                ),
                aws.elasticache.User(
                    self.child("default-user"),
                    user_id=f"{ident}-default",
                    user_name="default",
                    engine=c.engine,
                    access_string=DISABLED_DEFAULT_ACCESS_STRING,
                    authentication_mode={
                        "type": "password",
                        "passwords": [
                            random.RandomPassword(
                                self.child("default-password"),
                                length=48,
                                special=False,
                                opts=child,
                            ).result
                        ],
                    },
                    opts=child,
                ),
            ]
            self.user_group = aws.elasticache.UserGroup(
                self.child("users"),
                user_group_id=f"{ident}-status",
                engine=c.engine,
                user_ids=[u.user_id for u in users],
                opts=child,
            )
            # Serverless caches always encrypt in transit (TLS only) and at rest (an AWS
            # owned key unless kms_key_id is given); there is nothing to turn on.
            self.cache: aws.elasticache.ServerlessCache | aws.elasticache.ReplicationGroup
            self.cache = aws.elasticache.ServerlessCache(
                self.child("cache"),
                name=f"{ident}-status",
                engine=c.engine,
                major_engine_version=serverless_version,
                description="Job status cache (cache-aside in front of the jobs table)",
                cache_usage_limits={
                    "data_storage": {"maximum": c.max_storage_gb, "unit": "GB"},
                    "ecpu_per_seconds": [{"maximum": c.max_ecpu_per_second}],
                },
                security_group_ids=[self.cache_sg.id],
                subnet_ids=self.subnet_ids,
                user_group_id=self.user_group.user_group_id,
                opts=child,
            )
            endpoint = self.cache.endpoints.apply(
                lambda eps: (eps[0]["address"], eps[0]["port"]) if eps else (None, None)
            )
        else:
            username = None  # AUTH token: no user name
            subnet_group = aws.elasticache.SubnetGroup(
                self.child("subnets"),
                name=f"{ident}-status",
                description="Private subnets of the status cache",
                subnet_ids=self.subnet_ids,
                opts=child,
            )
            # Two nodes in two AZs with automatic failover: a node failure costs a few
            # seconds of DynamoDB reads, not the cache.
            self.cache = aws.elasticache.ReplicationGroup(
                self.child("cache"),
                replication_group_id=f"{ident}-status",
                description="Job status cache (cache-aside in front of the jobs table)",
                engine=c.engine,
                engine_version=node_version,
                node_type=c.node_type,
                num_cache_clusters=2,
                automatic_failover_enabled=True,
                multi_az_enabled=True,
                port=CACHE_PORT,
                subnet_group_name=subnet_group.name,
                security_group_ids=[self.cache_sg.id],
                at_rest_encryption_enabled=True,
                transit_encryption_enabled=True,
                transit_encryption_mode="required",
                auth_token=self.password.result,
                auth_token_update_strategy="ROTATE",
                snapshot_retention_limit=0,  # a cache: DynamoDB is the source of truth
                apply_immediately=True,
                opts=child,
            )
            endpoint = pulumi.Output.all(
                self.cache.primary_endpoint_address, self.cache.port
            ).apply(lambda a: (a[0], a[1]))

        self.secret_version = aws.secretsmanager.SecretVersion(
            self.child("credentials-value"),
            secret_id=self.secret.id,
            secret_string=pulumi.Output.json_dumps(
                {"username": username, "password": self.password.result}
            ),
            opts=child,
        )

        self.address = endpoint.apply(lambda e: e[0])
        self.port = endpoint.apply(lambda e: e[1])
        # TLS on AWS always (`rediss`). The local cloud runs a plain loopback server and
        # says so in its list of what it does not emulate.
        self.endpoint = endpoint.apply(
            lambda e: f"rediss://{e[0]}:{int(e[1])}" if e[0] is not None else None
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "vpc_id": self.vpc_id,
                "subnet_ids": self.subnet_ids,
                "function_security_group_id": self.function_sg.id,
                "cache_security_group_id": self.cache_sg.id,
                "secret_arn": self.secret.arn,
            }
        )

    # --- what the pipeline's status function gets ------------------------------------

    def pipeline_inputs(self, settings: StackSettings) -> CacheInputs:
        """What ModerationPipeline takes from this component: the status function behind it."""
        c = settings.caching
        return CacheInputs(
            vpc_config={
                "subnet_ids": self.subnet_ids,
                "security_group_ids": [self.function_sg.id],
            },
            environment={
                Env.CACHE_ENDPOINT: self.endpoint,
                Env.CACHE_SECRET_ARN: self.secret.arn,
                Env.CACHE_TERMINAL_TTL_SECONDS: str(c.terminal_ttl_seconds),
                Env.CACHE_ACTIVE_TTL_SECONDS: str(c.active_ttl_seconds),
                Env.CACHE_LOCAL_LRU_SIZE: str(c.local_lru_size),
            },
            statements=[
                statement(
                    "ReadCacheCredentials", ["secretsmanager:GetSecretValue"], [self.secret.arn]
                )
            ],
            # The status code imports redis only when CACHE_ENDPOINT is set, so only a
            # stack with the cache ships it in the function's dependency layer.
            extra_requirements=("redis",),
        )

    # --- pieces ----------------------------------------------------------------------

    def _create_network(
        self, prefix: str, c: CachingSettings, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], list[pulumi.Output[str]], list[pulumi.Output[str]]]:
        net = ipaddress.ip_network(c.vpc_cidr)
        blocks = list(net.subnets(new_prefix=net.prefixlen + 2))[:2]
        vpc = aws.ec2.Vpc(
            self.child("vpc"),
            cidr_block=c.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # private DNS of the interface endpoint needs both
            tags={"Name": f"{prefix}-status"},
            opts=child,
        )
        # No rules: nothing may use the VPC's default security group.
        aws.ec2.DefaultSecurityGroup(self.child("vpc-default-sg"), vpc_id=vpc.id, opts=child)
        azs = aws.get_availability_zones_output(state="available").names
        route_table = aws.ec2.RouteTable(
            self.child("private-routes"),
            vpc_id=vpc.id,
            tags={"Name": f"{prefix}-status-private"},
            opts=child,
        )
        subnet_ids = []
        for i, block in enumerate(blocks):
            subnet = aws.ec2.Subnet(
                self.child(f"private-{i}"),
                vpc_id=vpc.id,
                cidr_block=str(block),
                availability_zone=azs.apply(functools.partial(_first_two, index=i)),
                map_public_ip_on_launch=False,
                tags={"Name": f"{prefix}-status-private-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                self.child(f"private-{i}-routes"),
                subnet_id=subnet.id,
                route_table_id=route_table.id,
                opts=child,
            )
            subnet_ids.append(subnet.id)
        self.vpc = vpc
        return vpc.id, subnet_ids, [route_table.id]

    def _create_endpoints(
        self,
        prefix: str,
        region: pulumi.Output[str],
        account: pulumi.Output[str],
        route_table_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        child: pulumi.ResourceOptions,
        own_vpc: bool,
    ) -> tuple[pulumi.Output[str], _EgressTarget]:
        """DynamoDB gateway and Secrets Manager interface endpoints.

        In the VPC this component creates, nothing but the status function runs, so the
        endpoint policies allow exactly its calls. In an existing VPC the endpoints also
        carry other workloads' traffic (the gateway route and the private DNS name apply
        VPC-wide), so they keep the default full-access policy there; IAM still scopes
        the status function.
        """
        ddb_policy = secrets_policy = None
        if own_vpc:
            ddb_policy = pulumi.Output.all(region, account).apply(
                lambda a: _endpoint_policy(
                    "ReadThisStacksTables",
                    "dynamodb:GetItem",
                    f"arn:aws:dynamodb:{a[0]}:{a[1]}:table/{prefix}-*",
                )
            )
            secrets_policy = self.secret.arn.apply(
                lambda arn: _endpoint_policy(
                    "ReadTheCacheCredentials", "secretsmanager:GetSecretValue", arn
                )
            )
        # Gateway endpoints are free.
        self.dynamodb_endpoint = aws.ec2.VpcEndpoint(
            self.child("dynamodb-endpoint"),
            vpc_id=self.vpc_id,
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.dynamodb"),
            vpc_endpoint_type="Gateway",
            route_table_ids=route_table_ids,
            policy=ddb_policy,
            tags={"Name": f"{prefix}-status-dynamodb"},
            opts=child,
        )
        # Interface endpoints are not free: $0.01 per AZ-hour (2 AZs: ~$14.60/month) plus
        # $0.01/GB. That is the price of keeping the password out of the function's
        # configuration; it is still far below a NAT gateway.
        self.endpoint_sg = aws.ec2.SecurityGroup(
            self.child("endpoints-sg"),
            name=f"{prefix}-status-endpoints",
            description="Secrets Manager endpoint: HTTPS from the status function only",
            vpc_id=self.vpc_id,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            self.child("endpoints-from-function"),
            security_group_id=self.endpoint_sg.id,
            referenced_security_group_id=self.function_sg.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="status function -> Secrets Manager",
            opts=child,
        )
        self.secrets_endpoint = aws.ec2.VpcEndpoint(
            self.child("secretsmanager-endpoint"),
            vpc_id=self.vpc_id,
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.secretsmanager"),
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=self.subnet_ids,
            security_group_ids=[self.endpoint_sg.id],
            policy=secrets_policy,
            tags={"Name": f"{prefix}-status-secretsmanager"},
            opts=child,
        )
        return (
            self.dynamodb_endpoint.prefix_list_id,
            {"referenced_security_group_id": self.endpoint_sg.id},
        )
