"""The status cache as declared: network isolation, encryption, credentials, and the off switch."""

from __future__ import annotations

import json

import pytest

from components import packaging
from components.settings import ConfigError, settings_from_mapping
from local.twins.elasticache import SECRET_MARKER, unsecret
from tests.support.config import BASE_CONFIG
from tests.support.program import ProgramRun, logical_of, run_program

ELASTICACHE = "aws:elasticache/"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
CACHE_TYPES = (ELASTICACHE, "aws:ec2/", "aws:vpc/", "aws:secretsmanager/", "random:")


def run_cached(extra: dict | None = None) -> ProgramRun:
    return run_program({"cachingEnabled": True, **(extra or {})})


@pytest.fixture(scope="module")
def cached() -> ProgramRun:
    return run_cached()


def status_function(run: ProgramRun):
    return run.one("aws:lambda/function:Function", "moderation-status-function")


def sg_id(run: ProgramRun, logical: str) -> str:
    return run.one(SG, logical).id


def test_serverless_valkey_cache_behind_rbac(cached):
    cache = cached.one("aws:elasticache/serverlessCache:ServerlessCache")
    assert cache.inputs["engine"] == "valkey"
    assert cache.inputs["cacheUsageLimits"]["dataStorage"] == {"maximum": 1, "unit": "GB"}
    assert cache.inputs["securityGroupIds"] == [sg_id(cached, "status-cache-sg")]
    subnets = [s.id for s in cached.of_type("aws:ec2/subnet:Subnet")]
    assert len(subnets) == 2 and cache.inputs["subnetIds"] == subnets
    group = cached.one("aws:elasticache/userGroup:UserGroup")
    assert cache.inputs["userGroupId"] == group.inputs["userGroupId"]
    users = {u.inputs["userName"]: u.inputs for u in cached.of_type("aws:elasticache/user:User")}
    assert set(users) == {"status-function", "default"}
    assert set(group.inputs["userIds"]) == {u["userId"] for u in users.values()}
    # The status user may GET and SET status keys only; the default user cannot log in.
    assert users["status-function"]["accessString"] == "on ~status:job:* -@all +get +set"
    assert users["default"]["accessString"].split()[0] == "off"
    assert users["status-function"]["authenticationMode"]["type"] == "password"
    # Serverless caches have no switch for encryption: TLS-only and encrypted at rest always.
    address = cached.one("aws:elasticache/serverlessCache:ServerlessCache").outputs["endpoints"][0]
    assert address["address"].endswith(".serverless.use1.cache.amazonaws.com")
    assert cached.exports["cache_endpoint"] == f"rediss://{address['address']}:6379"


def test_node_based_cache_is_encrypted_in_transit_and_at_rest_with_an_auth_token():
    run = run_cached({"caching": {"nodeType": "cache.t4g.micro", "engine": "redis"}})
    assert not run.of_type("aws:elasticache/serverlessCache:ServerlessCache")
    assert not run.of_type("aws:elasticache/user:User")
    group = run.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert group.inputs["atRestEncryptionEnabled"] is True
    assert group.inputs["transitEncryptionEnabled"] is True
    assert group.inputs["transitEncryptionMode"] == "required"
    password = run.one("random:index/randomPassword:RandomPassword", "status-cache-password")
    # Pulumi keeps the token a secret (encrypted in state, masked in output).
    assert SECRET_MARKER in group.inputs["authToken"]
    assert unsecret(group.inputs["authToken"]) == password.outputs["result"]
    assert group.inputs["nodeType"] == "cache.t4g.micro" and group.inputs["engine"] == "redis"
    assert (
        group.inputs["automaticFailoverEnabled"] is True and group.inputs["numCacheClusters"] == 2
    )
    subnet_group = run.one("aws:elasticache/subnetGroup:SubnetGroup")
    assert group.inputs["subnetGroupName"] == subnet_group.inputs["name"]
    assert group.inputs["securityGroupIds"] == [sg_id(run, "status-cache-sg")]
    secret_string = run.one("aws:secretsmanager/secretVersion:SecretVersion").inputs["secretString"]
    assert SECRET_MARKER in secret_string
    secret = json.loads(unsecret(secret_string))
    assert secret == {"username": None, "password": password.outputs["result"]}


def test_cache_admits_only_the_status_function_on_the_cache_port(cached):
    fn_sg, cache_sg = sg_id(cached, "status-cache-function-sg"), sg_id(cached, "status-cache-sg")
    ingress = [r.inputs for r in cached.of_type(INGRESS)]
    into_cache = [r for r in ingress if r["securityGroupId"] == cache_sg]
    assert into_cache == [
        {
            "securityGroupId": cache_sg,
            "referencedSecurityGroupId": fn_sg,
            "ipProtocol": "tcp",
            "fromPort": 6379,
            "toPort": 6379,
            "description": "status function -> cache",
        }
    ]
    # No rule anywhere admits an address range, and nothing may connect to the function.
    for rule in ingress:
        assert "cidrIpv4" not in rule and "cidrIpv6" not in rule and "prefixListId" not in rule
        assert rule["referencedSecurityGroupId"] == fn_sg
    assert not [r for r in ingress if r["securityGroupId"] == fn_sg]
    # Security groups carry no inline rules that could widen this.
    for group in cached.of_type(SG):
        assert "ingress" not in group.inputs and "egress" not in group.inputs
    # The VPC's default security group is emptied.
    default = cached.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")


def test_status_function_reaches_only_the_cache_and_its_two_endpoints(cached):
    fn_sg = sg_id(cached, "status-cache-function-sg")
    egress = {
        r.name: r.inputs for r in cached.of_type(EGRESS) if r.inputs["securityGroupId"] == fn_sg
    }
    assert set(egress) == {
        "status-cache-function-to-cache",
        "status-cache-function-to-dynamodb",
        "status-cache-function-to-secretsmanager",
    }
    assert egress["status-cache-function-to-cache"]["referencedSecurityGroupId"] == sg_id(
        cached, "status-cache-sg"
    )
    assert (
        egress["status-cache-function-to-cache"]["fromPort"]
        == egress["status-cache-function-to-cache"]["toPort"]
        == 6379
    )
    ddb = egress["status-cache-function-to-dynamodb"]
    assert ddb["prefixListId"] == "pl-02cd2c6b" and ddb["fromPort"] == ddb["toPort"] == 443
    sm = egress["status-cache-function-to-secretsmanager"]
    assert sm["referencedSecurityGroupId"] == sg_id(cached, "status-cache-endpoints-sg")
    assert sm["fromPort"] == sm["toPort"] == 443
    for rule in egress.values():
        assert "cidrIpv4" not in rule


def test_dynamodb_gateway_endpoint_serves_the_private_subnets(cached):
    endpoints = {e.name: e.inputs for e in cached.of_type(ENDPOINT)}
    ddb = endpoints["status-cache-dynamodb-endpoint"]
    assert ddb["vpcEndpointType"] == "Gateway"
    assert ddb["serviceName"] == "com.amazonaws.us-east-1.dynamodb"
    subnets = {s.id for s in cached.of_type("aws:ec2/subnet:Subnet")}
    associations = cached.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert {a.inputs["subnetId"] for a in associations} == subnets
    assert set(ddb["routeTableIds"]) == {a.inputs["routeTableId"] for a in associations}
    policy = json.loads(ddb["policy"])["Statement"]
    assert [s["Action"] for s in policy] == [["dynamodb:GetItem"]]
    sm = endpoints["status-cache-secretsmanager-endpoint"]
    assert sm["vpcEndpointType"] == "Interface" and sm["privateDnsEnabled"] is True
    assert set(sm["subnetIds"]) == subnets
    secret_arn = cached.one("aws:secretsmanager/secret:Secret").outputs["arn"]
    assert json.loads(sm["policy"])["Statement"][0]["Resource"] == secret_arn
    # No way out of the VPC: no internet or NAT gateway, no route but the endpoint's.
    assert not [r for r in cached.resources if "internetGateway" in r.typ or "natGateway" in r.typ]
    assert not cached.of_type("aws:ec2/route:Route")


def test_vpc_has_two_private_subnets_from_the_configured_cidr(cached):
    vpc = cached.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.42.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True
    subnets = cached.of_type("aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["cidrBlock"] for s in subnets) == ["10.42.0.0/18", "10.42.64.0/18"]
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert cached.exports["vpc_id"] == vpc.id
    assert cached.exports["status_security_group_id"] == sg_id(cached, "status-cache-function-sg")


def test_only_the_status_function_joins_the_vpc_and_gets_the_cache(cached):
    fn = status_function(cached)
    assert fn.inputs["vpcConfig"]["securityGroupIds"] == [sg_id(cached, "status-cache-function-sg")]
    assert set(fn.inputs["vpcConfig"]["subnetIds"]) == {
        s.id for s in cached.of_type("aws:ec2/subnet:Subnet")
    }
    env = fn.inputs["environment"]["variables"]
    secret = cached.one("aws:secretsmanager/secret:Secret")
    assert env["CACHE_ENDPOINT"] == cached.exports["cache_endpoint"]
    assert env["CACHE_SECRET_ARN"] == secret.outputs["arn"]
    assert env["CACHE_ACTIVE_TTL_SECONDS"] == "1.0"
    assert env["CACHE_TERMINAL_TTL_SECONDS"] == "3600"
    # The password is in Secrets Manager, never in the function's configuration.
    password = cached.one("random:index/randomPassword:RandomPassword", "status-cache-password")
    assert password.outputs["result"] not in json.dumps(fn.inputs, default=str)
    version = json.loads(
        unsecret(
            cached.one("aws:secretsmanager/secretVersion:SecretVersion").inputs["secretString"]
        )
    )
    assert version == {"username": "status-function", "password": password.outputs["result"]}
    for other in cached.of_type("aws:lambda/function:Function"):
        if other.name != "moderation-status-function":
            assert not other.inputs.get("vpcConfig"), other.name
            assert "CACHE_ENDPOINT" not in other.inputs["environment"]["variables"], other.name


# Resource types whose name AWS keeps reserved after deletion: a Secrets Manager secret
# for its recovery window (7 days unless forceDestroy). KMS aliases and log groups are
# freed at once; SQS queue names for 60 s (docs/deploying.md says to wait that long).
RESERVED_AFTER_DELETE = ("aws:secretsmanager/secret:Secret",)


@pytest.mark.parametrize("force_destroy", [False, True])
def test_no_secret_has_a_fixed_name_so_up_after_destroy_can_create_it_again(force_destroy):
    """A fixed name made `pulumi up` after `pulumi destroy` fail for the recovery window."""
    run = run_cached({"forceDestroy": force_destroy})
    declared = [r for typ in RESERVED_AFTER_DELETE for r in run.of_type(typ)]
    assert declared, "the cached stack declares the credentials secret"
    for resource in declared:
        assert "name" not in resource.inputs and "namePrefix" not in resource.inputs, (
            f"{resource.name} sets a fixed name: let Pulumi auto-name it"
        )
    secret = run.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["recoveryWindowInDays"] == (0 if force_destroy else 7)
    # What reads it takes the ARN, so the generated name changes nothing for it.
    env = status_function(run).inputs["environment"]["variables"]
    assert env["CACHE_SECRET_ARN"] == secret.outputs["arn"]


def test_disabled_declares_none_of_it_and_leaves_status_outside_any_vpc():
    run = run_program({"cachingEnabled": False})
    assert not [r for r in run.resources if r.typ.startswith(CACHE_TYPES)]
    fn = status_function(run)
    assert not fn.inputs.get("vpcConfig")
    assert not any(k.startswith("CACHE_") for k in fn.inputs["environment"]["variables"])
    assert "cache_endpoint" not in run.exports and "vpc_id" not in run.exports


def test_existing_vpc_is_used_and_its_own_endpoints_can_be_kept():
    run = run_cached(
        {
            "caching": {
                "vpcId": "vpc-0abc",
                "subnetIds": ["subnet-a", "subnet-b"],
                "createVpcEndpoints": False,
            }
        }
    )
    assert not run.of_type("aws:ec2/vpc:Vpc") and not run.of_type("aws:ec2/subnet:Subnet")
    assert not run.of_type(ENDPOINT)
    assert {g.inputs["vpcId"] for g in run.of_type(SG)} == {"vpc-0abc"}
    assert run.one("aws:elasticache/serverlessCache:ServerlessCache").inputs["subnetIds"] == [
        "subnet-a",
        "subnet-b",
    ]
    assert status_function(run).inputs["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]


def _layer_deps(monkeypatch, tmp_path, config: dict) -> dict[str, list[str]]:
    built: dict[str, list[str]] = {}

    def fake_build(names, architecture, target_subdir="python", services=None):
        built[",".join(names)] = list(names)
        return tmp_path

    monkeypatch.setattr(packaging, "build_dependencies", fake_build)
    run = run_program({**config, "dependencyLayer": "build"})
    return {
        logical_of(layer.name, "-deps"): layer.inputs["description"].split(", ")
        for layer in run.of_type("aws:lambda/layerVersion:LayerVersion")
    }


def test_redis_ships_in_the_status_layer_only_with_the_cache(monkeypatch, tmp_path):
    off = _layer_deps(monkeypatch, tmp_path, {})
    on = _layer_deps(monkeypatch, tmp_path, {"cachingEnabled": True})
    assert "redis" not in off["status"]
    assert "redis" in on["status"]
    assert all("redis" not in deps for name, deps in on.items() if name != "status")
    assert set(on["status"]) - {"redis"} == set(off["status"])


@pytest.mark.parametrize(
    "caching, needle",
    [
        ({"vpcCidr": "8.8.0.0/16"}, "caching.vpcCidr"),
        ({"vpcCidr": "10.0.0.0/27"}, "caching.vpcCidr"),
        ({"terminalTtlSeconds": 1, "activeTtlSeconds": 5}, "caching.terminalTtlSeconds"),
        ({"localLruSize": -1}, "caching.localLruSize"),
        ({"maxEcpuPerSecond": 10}, "caching.maxStorageGb"),
        ({"vpcId": "vpc-1"}, "caching.vpcId"),
        ({"nodeType": "t4g.micro"}, "caching.nodeType"),
        ({"engine": "memcached"}, "caching.engine"),
        ({"createVpcEndpoints": "maybe"}, "caching.createVpcEndpoints"),
    ],
)
def test_bad_cache_settings_fail_preview_naming_the_setting(caching, needle):
    raw = {**BASE_CONFIG, "cachingEnabled": True, "caching": caching}
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        settings_from_mapping("test", raw)


GET_ROUTE_TABLES = "aws:ec2/getRouteTables:getRouteTables"


def route_tables_of(explicit: dict[str, list[str]], main: list[str]):
    """A `getRouteTables` answer: subnets' explicit associations, else the main table."""

    def answer(args: dict) -> dict:
        (flt,) = args["filters"]
        if flt["name"] == "association.main":
            return {"ids": main, "id": args["vpcId"]}
        return {"ids": explicit.get(flt["values"][0], []), "id": args["vpcId"]}

    return answer


def gateway_route_tables(run) -> list[str]:
    ddb = [e for e in run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert len(ddb) == 1
    return ddb[0].inputs["routeTableIds"]


EXISTING_VPC = {
    "cachingEnabled": True,
    "caching": {"vpcId": "vpc-0abc", "subnetIds": ["subnet-a", "subnet-b"]},
}


def test_existing_vpc_subnets_on_the_main_route_table_get_the_gateway_endpoint():
    """A subnet with no explicit association uses the main table; the lookup by subnet
    finds nothing for it, so the endpoint must fall back to the main table."""
    run = run_program(
        EXISTING_VPC,
        calls={GET_ROUTE_TABLES: route_tables_of({"subnet-a": ["rtb-a"]}, ["rtb-main"])},
    )
    assert gateway_route_tables(run) == ["rtb-a", "rtb-main"]
    shared = run_program(
        EXISTING_VPC,
        calls={
            GET_ROUTE_TABLES: route_tables_of(
                {"subnet-a": ["rtb-a"], "subnet-b": ["rtb-a"]}, ["rtb-main"]
            )
        },
    )
    assert gateway_route_tables(shared) == ["rtb-a"]


def test_route_tables_can_be_given_instead_of_looked_up():
    run = run_program(
        {
            "cachingEnabled": True,
            "caching": {**EXISTING_VPC["caching"], "routeTableIds": ["rtb-1"]},
        },
        calls={GET_ROUTE_TABLES: lambda args: (_ for _ in ()).throw(AssertionError("looked up"))},
    )
    assert gateway_route_tables(run) == ["rtb-1"]
