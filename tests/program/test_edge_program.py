"""The EdgeAuth component under Pulumi's mocks: what `pulumi up` would declare."""

from __future__ import annotations

import json
import runpy

import pulumi
import pytest

from local.program import MAIN, _config_value
from tests.support import edge as es
from tests.support.config import BASE_CONFIG
from tests.support.program import ProgramRun, RecordingMocks, run_program

EDGE_TYPES = (
    "aws:cognito/",
    "aws:cloudfront/",
    "pulumi:providers:aws",
)


class ProviderMocks(RecordingMocks):
    """Records which provider each resource uses, and the outputs AWS computes."""

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[str, str | None] = {}
        self.retained: set[str] = set()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        rid, outputs = super().new_resource(args)
        self.providers[args.name] = args.provider
        if args.typ == "aws:lambda/function:Function":
            outputs.setdefault("name", rid)
        if args.typ == "aws:s3/bucket:Bucket":
            outputs["bucketRegionalDomainName"] = f"{rid}.s3.us-east-1.amazonaws.com"
        if args.typ == "aws:cloudfront/distribution:Distribution":
            outputs["domainName"] = "d111111abcdef8.cloudfront.net"
            outputs["arn"] = f"arn:aws:cloudfront::123456789012:distribution/{rid}"
        self.resources[-1].outputs = outputs
        return [rid, outputs]


@pytest.fixture(scope="module")
def jwks_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [es.SigningKey("program-key").jwk()]}))
    return str(path)


def edge_run(jwks_file: str, preview: bool = False, **edge) -> tuple[ProgramRun, ProviderMocks]:
    """Run the program with edge auth on; also record each resource's retain_on_delete."""
    mocks = ProviderMocks()
    run = ProgramRun(resources=mocks.resources)
    config = {
        **BASE_CONFIG,
        "edgeAuthEnabled": True,
        "edgeAuth": {"jwksFile": jwks_file, "priceClass": "PriceClass_200", **edge},
    }
    pulumi.runtime.set_mocks(mocks, project="moderation", stack="test", preview=preview)
    pulumi.runtime.set_all_config({f"moderation:{k}": _config_value(v) for k, v in config.items()})

    def record_options(args: pulumi.ResourceTransformationArgs):
        if args.opts.retain_on_delete:
            mocks.retained.add(args.name)

    @pulumi.runtime.test
    def declare():
        pulumi.runtime.register_stack_transformation(record_options)
        runpy.run_path(str(MAIN), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        outputs = dict(root.outputs)
        root.outputs.clear()
        return pulumi.Output.from_input(outputs).apply(run.exports.update)

    declare()
    return run, mocks


@pytest.fixture(scope="module")
def edge(jwks_file):
    return edge_run(jwks_file)


def test_flag_off_declares_no_cognito_cloudfront_or_edge_provider():
    run = run_program()
    assert not [r for r in run.resources if r.typ.startswith(EDGE_TYPES)]
    assert len(run.of_type("aws:s3/bucket:Bucket")) == 1
    assert "cdn_url" not in run.exports and "user_pool_id" not in run.exports


def test_the_edge_function_is_declared_in_us_east_1_on_the_stacks_own_provider(edge):
    """A per-resource region, not a second provider: a second provider would not inherit
    the stack's assumed roles, credentials, allowed accounts or default tags."""
    run, mocks = edge
    assert not run.of_type("pulumi:providers:aws")
    fn = run.one("aws:lambda/function:Function", "moderation-test-edge-auth")
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup", "edge-auth-logs")
    assert fn.inputs["region"] == "us-east-1" and log_group.inputs["region"] == "us-east-1"
    assert log_group.inputs["name"] == f"/aws/lambda/us-east-1.{fn.outputs['name']}"
    pipeline_fn = run.one("aws:lambda/function:Function", "moderation-upload-function")
    assert mocks.providers[fn.name] == mocks.providers[pipeline_fn.name]
    assert "region" not in pipeline_fn.inputs


def test_the_edge_function_obeys_lambda_at_edge_limits(edge):
    run, _ = edge
    fn = run.one("aws:lambda/function:Function", "moderation-test-edge-auth").inputs
    assert fn["publish"] is True
    assert fn["architectures"] == ["x86_64"]
    assert fn["memorySize"] == 128 and fn["timeout"] == 5
    assert fn["runtime"] == "python3.12" and fn["handler"] == "edge_auth.handler.handler"
    assert "environment" not in fn and "layers" not in fn and "vpcConfig" not in fn
    role = run.one("aws:iam/role:Role", "edge-auth-role").inputs
    (stmt,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert sorted(stmt["Principal"]["Service"]) == [
        "edgelambda.amazonaws.com",
        "lambda.amazonaws.com",
    ]
    code = fn["code"].path
    config = json.loads(open(f"{code}/edge_auth/config.json").read())
    pool = run.one("aws:cognito/userPool:UserPool")
    client = run.one("aws:cognito/userPoolClient:UserPoolClient")
    assert config["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.id}"
    assert config["client_id"] == client.id and config["token_use"] == "id"
    assert config["jwks"]["keys"][0]["kid"] == "program-key"


def test_viewer_request_runs_the_published_version(edge):
    run, _ = edge
    fn = run.one("aws:lambda/function:Function", "moderation-test-edge-auth")
    dist = run.one("aws:cloudfront/distribution:Distribution").inputs
    (assoc,) = dist["defaultCacheBehavior"]["lambdaFunctionAssociations"]
    assert assoc["eventType"] == "viewer-request"
    assert assoc["lambdaArn"] == fn.outputs["qualifiedArn"]
    assert assoc["lambdaArn"].rsplit(":", 1)[1].isdigit(), "a numbered version, never $LATEST"
    assert assoc["includeBody"] is False


def test_distribution_is_https_only_compressed_cached_long_and_priced_from_config(edge):
    run, _ = edge
    dist = run.one("aws:cloudfront/distribution:Distribution").inputs
    behavior = dist["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["compress"] is True
    assert set(behavior["allowedMethods"]) == {"GET", "HEAD", "OPTIONS"}
    assert dist["priceClass"] == "PriceClass_200"
    assert dist["viewerCertificate"] == {
        "cloudfrontDefaultCertificate": True,
        "minimumProtocolVersion": "TLSv1",
    }
    assert "loggingConfig" not in dist
    cache = run.one("aws:cloudfront/cachePolicy:CachePolicy")
    assert behavior["cachePolicyId"] == cache.id
    ttl = 31536000
    assert (cache.inputs["minTtl"], cache.inputs["defaultTtl"], cache.inputs["maxTtl"]) == (
        ttl,
        ttl,
        ttl,
    )
    key = cache.inputs["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["headersConfig"]["headerBehavior"] == "none"
    assert key["cookiesConfig"]["cookieBehavior"] == "none"
    assert key["queryStringsConfig"]["queryStringBehavior"] == "none"
    errors = {e["errorCode"]: e["errorCachingMinTtl"] for e in dist["customErrorResponses"]}
    assert errors == {403: 0, 404: 0}


def test_origin_uses_origin_access_control(edge):
    run, _ = edge
    dist = run.one("aws:cloudfront/distribution:Distribution").inputs
    oac = run.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac.inputs["originAccessControlOriginType"] == "s3"
    assert oac.inputs["signingBehavior"] == "always" and oac.inputs["signingProtocol"] == "sigv4"
    (origin,) = dist["origins"]
    assert origin["originAccessControlId"] == oac.id
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin
    assert dist["defaultCacheBehavior"]["targetOriginId"] == origin["originId"]


def test_content_bucket_admits_only_this_distribution_to_content(edge):
    run, _ = edge
    dist = run.one("aws:cloudfront/distribution:Distribution")
    bucket = next(b for b in run.of_type("aws:s3/bucket:Bucket") if "content" in b.name)
    policy = next(
        p
        for p in run.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if p.inputs["bucket"] == bucket.outputs["bucket"]
    )
    statements = json.loads(policy.inputs["policy"])["Statement"]
    deny, allow = statements
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert allow == {
        "Sid": "CloudFrontReadsApprovedContent",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket.outputs['arn']}/content/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": dist.outputs["arn"]}},
    }
    assert dist.outputs["arn"].endswith(f":distribution/{dist.id}")
    (origin,) = dist.inputs["origins"]
    assert origin["domainName"] == f"{bucket.outputs['bucket']}.s3.us-east-1.amazonaws.com"
    pab = next(
        p
        for p in run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if p.inputs["bucket"] == bucket.outputs["bucket"]
    ).inputs
    assert all(
        pab[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )


def test_user_pool_mfa_and_advanced_security_follow_config(jwks_file, edge):
    run, _ = edge
    pool = run.one("aws:cognito/userPool:UserPool").inputs
    assert pool["mfaConfiguration"] == "OFF" and "softwareTokenMfaConfiguration" not in pool
    assert pool["userPoolTier"] == "LITE" and "userPoolAddOns" not in pool
    assert pool["passwordPolicy"]["minimumLength"] >= 12
    assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    assert pool["deletionProtection"] == "ACTIVE"
    for mfa in ("ON", "OPTIONAL"):
        strict, _ = edge_run(jwks_file, mfa=mfa, advancedSecurity=True)
        pool = strict.one("aws:cognito/userPool:UserPool").inputs
        assert pool["mfaConfiguration"] == mfa
        assert pool["softwareTokenMfaConfiguration"] == {"enabled": True}
        assert pool["userPoolAddOns"] == {"advancedSecurityMode": "ENFORCED"}
        assert pool["userPoolTier"] == "PLUS"


def test_app_client_is_a_public_code_flow_client(edge):
    run, _ = edge
    client = run.one("aws:cognito/userPoolClient:UserPoolClient").inputs
    assert client["generateSecret"] is False
    assert client["allowedOauthFlows"] == ["code"]
    assert client["callbackUrls"] == ["http://localhost:8501/"]
    assert client["preventUserExistenceErrors"] == "ENABLED"
    domain = run.one("aws:cognito/userPoolDomain:UserPoolDomain").inputs
    assert domain["domain"] == "moderation-test-123456789012"


def test_one_sign_in_for_the_api_and_the_cdn(edge):
    run, _ = edge
    pool = run.one("aws:cognito/userPool:UserPool")
    client = run.one("aws:cognito/userPoolClient:UserPoolClient")
    auth = run.one("aws:apigatewayv2/authorizer:Authorizer").inputs["jwtConfiguration"]
    assert auth["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.id}"
    assert auth["audiences"] == [client.id]
    status = run.one("aws:lambda/function:Function", "moderation-status-function").inputs
    assert (
        status["environment"]["variables"]["CDN_BASE_URL"]
        == "https://d111111abcdef8.cloudfront.net"
    )
    notifier = run.one("aws:lambda/function:Function", "moderation-notifier-function").inputs
    content = next(b for b in run.of_type("aws:s3/bucket:Bucket") if "content" in b.name)
    env = notifier["environment"]["variables"]
    assert env["CONTENT_BUCKET"] == content.outputs["bucket"]
    assert env["CONTENT_MAX_AGE_SECONDS"] == "31536000"


def test_exports(edge):
    run, _ = edge
    ex = run.exports
    assert ex["cdn_url"] == "https://d111111abcdef8.cloudfront.net"
    assert ex["user_pool_id"] == run.one("aws:cognito/userPool:UserPool").id
    assert ex["user_pool_client_id"] == run.one("aws:cognito/userPoolClient:UserPoolClient").id
    assert ex["cognito_domain"] == "moderation-test-123456789012.auth.us-east-1.amazoncognito.com"
    assert ex["edge_function_arn"].endswith(":1")
    assert ex["content_bucket"].startswith("moderation-test-content")


def test_logging_custom_domain_and_tls_policy_follow_config(jwks_file):
    run, _ = edge_run(
        jwks_file,
        loggingBucket="my-cdn-logs",
        aliases=["cdn.example.com"],
        certificateArn="arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
        contentTtlSeconds=86400,
    )
    dist = run.one("aws:cloudfront/distribution:Distribution").inputs
    assert dist["loggingConfig"] == {
        "bucket": "my-cdn-logs.s3.amazonaws.com",
        "includeCookies": False,
        "prefix": "moderation-test/",
    }
    assert dist["aliases"] == ["cdn.example.com"]
    assert dist["viewerCertificate"] == {
        "acmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    assert run.exports["cdn_url"] == "https://cdn.example.com"
    cache = run.one("aws:cloudfront/cachePolicy:CachePolicy").inputs
    assert cache["maxTtl"] == cache["minTtl"] == 86400


def test_destroy_leaves_the_replicated_edge_function_behind(edge):
    """CloudFront's replicas block deleting the function for hours after the distribution
    lets go of it: `pulumi destroy` retains the function instead of failing on it."""
    run, mocks = edge
    assert mocks.retained == {"moderation-test-edge-auth"}


def test_preview_builds_and_checks_the_package_before_the_pool_exists(jwks_file, monkeypatch):
    """`pulumi preview` of a new stack cannot bake the pool's issuer: it still builds."""
    from components import packaging

    built = []
    real = packaging.build_edge_function

    def recording(name, config, *args, **kwargs):
        built.append(config)
        return real(name, config, *args, **kwargs)

    monkeypatch.setattr(packaging, "build_edge_function", recording)
    edge_run(jwks_file, preview=True)
    assert built[0]["issuer"] == "https://preview.invalid"
    assert built[0]["jwks"]["keys"][0]["kid"] == "program-key"


def test_jwks_is_fetched_over_tls_only_and_a_failure_names_the_fix(monkeypatch):
    import io

    from components import edge_auth

    with pytest.raises(ValueError, match="plain HTTP"):
        edge_auth.fetch_jwks("http://cognito-idp.example/us-east-1_X")
    with pytest.raises(RuntimeError, match="moderation:edgeAuth.jwksFile"):
        edge_auth.fetch_jwks("https://127.0.0.1:9/us-east-1_X", attempts=1, timeout=2)

    key = es.SigningKey("fetched")
    seen = []

    def fake_urlopen(url, timeout):
        seen.append(url)
        body = json.dumps({"keys": [{**key.jwk(), "d": "never baked"}]}).encode()
        return io.BytesIO(body)

    monkeypatch.setattr(edge_auth.urllib.request, "urlopen", fake_urlopen)
    jwks = edge_auth.fetch_jwks("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X")
    assert seen == ["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X/.well-known/jwks.json"]
    assert jwks == {"keys": [key.jwk()]}


@pytest.mark.parametrize(
    "prefix, account, expected",
    [
        ("moderation-dev", "123456789012", "moderation-dev-123456789012"),
        ("moderation-My_Stack", "123456789012", "moderation-my-stack-123456789012"),
        ("moderation-aws-prod", "123456789012", "moderation-prod-123456789012"),
    ],
)
def test_default_hosted_ui_prefix_is_a_valid_cognito_prefix(prefix, account, expected):
    from components.edge_auth import default_domain_prefix

    assert default_domain_prefix(prefix, account) == expected


def test_the_user_pool_sends_through_ses_when_an_identity_is_given(jwks_file):
    """Cognito's default sender caps at about 50 e-mails a day: production uses SES."""
    default, _ = edge_run(jwks_file)
    assert "emailConfiguration" not in default.one("aws:cognito/userPool:UserPool").inputs
    arn = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    run, _ = edge_run(jwks_file, sesSourceArn=arn, fromEmail="moderation@example.com")
    config = run.one("aws:cognito/userPool:UserPool").inputs["emailConfiguration"]
    assert config == {
        "emailSendingAccount": "DEVELOPER",
        "sourceArn": arn,
        "fromEmailAddress": "moderation@example.com",
    }
