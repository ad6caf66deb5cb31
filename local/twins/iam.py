"""IAM roles and inline policies created in moto."""

from __future__ import annotations

from local.twins.common import MockCloud, suffix


def role(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    role = inputs.get("name") or f"{name}-{suffix(name)}"
    out = m.client("iam").create_role(
        RoleName=role,
        AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
        Description=inputs.get("description", ""),
    )["Role"]
    return role, {**inputs, "name": role, "arn": out["Arn"], "uniqueId": out["RoleId"]}


def role_policy(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    policy = inputs.get("name") or f"{name}-{suffix(name)}"
    m.client("iam").put_role_policy(
        RoleName=inputs["role"], PolicyName=policy, PolicyDocument=inputs["policy"]
    )
    return f"{inputs['role']}:{policy}", {**inputs, "name": policy}


HANDLERS = {
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
}
