"""Who may use the console: binding, the sign-in settings, groups, the recorded reviewer."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import __main__ as launcher
from dashboard.access import (
    ConsoleRefused,
    LaunchOptions,
    Role,
    auth_problems,
    check_servable,
    is_loopback,
    local_identity,
    may_record_verdict,
    parse_launch,
    sign_in_required,
    signed_in_identity,
)
from lambdas.common.review import Refused

AUTH = {
    "redirect_uri": "https://console.example.com/oauth2callback",
    "cookie_secret": "a-long-random-secret-for-the-cookie",
    "client_id": "client",
    "client_secret": "secret",
    "server_metadata_url": "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/openid-configuration",
}


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("console.example.com", False),
        ("", False),
        (None, False),  # Streamlit's default: every interface
    ],
)
def test_only_loopback_addresses_count_as_this_machine(address, loopback):
    assert is_loopback(address) is loopback
    assert sign_in_required(address, LaunchOptions()) is (not loopback)


def test_sign_in_can_be_required_on_loopback_too():
    assert sign_in_required("127.0.0.1", LaunchOptions(require_sign_in=True))
    assert parse_launch(["--require-sign-in"], {}).require_sign_in
    assert parse_launch([], {"DASHBOARD_REQUIRE_SIGN_IN": "1"}).require_sign_in
    assert not parse_launch(["--local", "x"], {}).require_sign_in


def test_the_operators_group_is_a_launch_option_defaulting_to_operators():
    assert parse_launch([], {}).operators_group == "operators"
    assert parse_launch(["--operators-group", "ops"], {}).operators_group == "ops"
    assert parse_launch([], {"DASHBOARD_OPERATORS_GROUP": "sre"}).operators_group == "sre"


def test_auth_settings_are_checked_for_what_st_login_needs():
    assert auth_problems(AUTH) == []
    assert auth_problems(None) == ["there is no [auth] section in .streamlit/secrets.toml"]
    assert auth_problems({k: v for k, v in AUTH.items() if k != "client_secret"}) == [
        "[auth] has no client_secret"
    ]
    bad_uri = {**AUTH, "redirect_uri": "https://console.example.com/"}
    assert auth_problems(bad_uri) == ["[auth] redirect_uri must end with /oauth2callback"]
    named = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": "s" * 32,
        "cognito": {"client_id": "c", "server_metadata_url": "https://x"},
    }
    assert auth_problems(named) == ["[auth] has no client_secret (in [auth.cognito])"]


def test_serving_beyond_the_machine_without_sign_in_is_refused_naming_the_fix():
    check_servable("127.0.0.1", LaunchOptions(), None)  # local: no sign-in needed
    check_servable("0.0.0.0", LaunchOptions(), AUTH)
    with pytest.raises(ConsoleRefused) as refused:
        check_servable("0.0.0.0", LaunchOptions(), None)
    message = str(refused.value)
    assert "on 0.0.0.0" in message and "127.0.0.1" in message
    assert "secrets.toml" in message and "docs/dashboard.md" in message
    with pytest.raises(ConsoleRefused, match="every network interface"):
        check_servable(None, LaunchOptions(), {})


def test_groups_give_roles_and_the_sub_is_the_recorded_user():
    claims = {"sub": "u-1", "email": "m@example.com", "cognito:groups": ["moderators"]}
    who = signed_in_identity(claims, "moderators", "operators")
    assert (who.user, who.display, who.roles) == ("u-1", "m@example.com", {Role.MODERATOR})
    both = signed_in_identity(
        {**claims, "cognito:groups": "[moderators operators]"}, "moderators", "operators"
    )
    assert both.roles == {Role.MODERATOR, Role.OPERATOR}
    near = signed_in_identity(
        {**claims, "cognito:groups": ["moderators-prod"]}, "moderators", "operators"
    )
    assert near.roles == frozenset(), "membership is by whole name"
    with pytest.raises(ConsoleRefused):
        signed_in_identity({"email": "x"}, "moderators", "operators")


def test_a_verdict_needs_the_moderator_group_as_in_the_api():
    moderator = signed_in_identity(
        {"sub": "u-1", "cognito:groups": ["moderators"]}, "moderators", "ops"
    )
    assert may_record_verdict(moderator, "moderators") == "u-1"
    operator = signed_in_identity({"sub": "u-2", "cognito:groups": ["ops"]}, "moderators", "ops")
    with pytest.raises(Refused) as refused:
        may_record_verdict(operator, "moderators")
    assert refused.value.status == 403
    local = local_identity("local:alice")
    assert local.roles == set(Role) and may_record_verdict(local, "moderators") == "local:alice"


def test_the_launcher_binds_loopback_by_default_and_passes_the_target_on():
    args = launcher.parser().parse_args(["--stack", "prod", "--profile", "ops"])
    cmd = launcher.streamlit_command(args)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    app_args = cmd[cmd.index("--") + 1 :]
    assert app_args == ["--operators-group", "operators", "--stack", "prod", "--profile", "ops"]


def test_the_launcher_refuses_a_public_bind_without_auth(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        launcher, "secrets_files", lambda cwd: [cwd / ".streamlit" / "secrets.toml"]
    )
    assert launcher.main(["--bind", "0.0.0.0"]) == 2
    assert "without sign-in" in capsys.readouterr().err


def test_the_launcher_reads_auth_as_streamlit_merges_it(tmp_path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('[auth]\nredirect_uri = "https://a/oauth2callback"\nclient_id = "a"\n')
    second.write_text('[auth]\nclient_id = "b"\n')
    assert launcher.read_auth([first, second, Path(tmp_path / "missing.toml")]) == {
        "redirect_uri": "https://a/oauth2callback",
        "client_id": "b",
    }
    assert launcher.read_auth([tmp_path / "missing.toml"]) is None
