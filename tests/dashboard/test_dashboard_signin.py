"""The console served beyond the machine: AppTest as a visitor who has not signed in,
as signed-in moderators and operators, and with no sign-in configured.

No local cloud: the target is an empty state directory (the pages say there is no
stack), which is all the door needs.
"""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.support.paths import ROOT

APP = ROOT / "dashboard" / "app.py"
AUTH = {
    "redirect_uri": "https://console.example.com/oauth2callback",
    "cookie_secret": "a-long-random-secret-for-the-cookie",
    "client_id": "client",
    "client_secret": "secret",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}


@pytest.fixture
def exposed(tmp_path, monkeypatch):
    """The console as `python -m dashboard --bind 0.0.0.0` serves it."""
    monkeypatch.setenv("DASHBOARD_LOCAL_STATE", str(tmp_path / "no-cloud"))
    config.set_option("server.address", "0.0.0.0")
    st.cache_data.clear()
    st.cache_resource.clear()


def console(user: dict | None, auth: dict | None = AUTH) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if auth is not None:
        at.secrets["auth"] = auth
    if user is not None:
        at.user = user
    return at.run()


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "markdown", "info", "warning", "error", "text")
        for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_an_unsigned_in_visitor_sees_only_the_sign_in(exposed):
    at = console({"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Sign in to use the console." in texts(at)
    assert not at.sidebar.get("selectbox"), "no stack choice, no page"
    assert "Overview" not in texts(at) and "Review" not in texts(at)


def test_no_sign_in_configured_refuses_to_serve_naming_the_fix(exposed):
    at = console({"is_logged_in": True, "sub": "u-1", "cognito:groups": ["operators"]}, auth=None)
    assert not at.exception
    (error,) = at.error
    assert "without sign-in" in error.value and "secrets.toml" in error.value
    assert "127.0.0.1" in error.value
    assert not at.button, "nothing to do but fix the launch"


def test_a_moderator_gets_the_review_page_only_and_no_stack_choice(exposed):
    at = console(
        {
            "is_logged_in": True,
            "sub": "u-1",
            "email": "mod@example.com",
            "cognito:groups": ["moderators"],
        }
    )
    assert not at.exception
    assert [t.value for t in at.title] == ["Review"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/dead_letters.py")
    sidebar = "\n".join(t.value for t in at.sidebar.get("text"))
    assert "Signed in as mod@example.com (moderator)" in sidebar
    assert not at.sidebar.get("selectbox") or all(
        s.label != "Look at" for s in at.sidebar.selectbox
    ), "the target is fixed at launch"


def test_an_operator_gets_the_pipeline_pages_but_not_review(exposed):
    at = console({"is_logged_in": True, "sub": "u-2", "cognito:groups": ["operators"]})
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    at.switch_page("pages/dead_letters.py").run()
    assert [t.value for t in at.title] == ["Dead letters"]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/review.py")


def test_moderators_open_appeals_qa_and_calibration(exposed):
    mod = console({"is_logged_in": True, "sub": "u-1", "cognito:groups": ["moderators"]})
    for page, title in (("appeals", "Appeals"), ("qa", "QA"), ("calibration", "Calibration")):
        mod.switch_page(f"pages/{page}.py").run()
        assert not mod.exception
        assert [t.value for t in mod.title] == [title]


def test_operators_open_calibration_but_not_appeals_or_qa(exposed):
    ops = console({"is_logged_in": True, "sub": "u-2", "cognito:groups": ["operators"]})
    for page in ("appeals", "qa"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            ops.switch_page(f"pages/{page}.py")
    ops.switch_page("pages/calibration.py").run()
    assert not ops.exception
    assert [t.value for t in ops.title] == ["Calibration"]


def test_a_signed_in_visitor_in_neither_group_is_turned_away(exposed):
    at = console({"is_logged_in": True, "sub": "u-3", "cognito:groups": ["viewers"]})
    assert not at.exception
    assert "in neither the moderators' group" in texts(at)
    assert [b.label for b in at.button] == ["Sign out"]


def test_on_loopback_no_one_signs_in_and_every_page_is_there(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_LOCAL_STATE", str(tmp_path / "no-cloud"))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert any(s.label == "Look at" for s in at.sidebar.selectbox)
    at.switch_page("pages/review.py").run()
    assert [t.value for t in at.title] == ["Review"]


def test_signing_out_returns_to_the_sign_in(exposed):
    at = console({"is_logged_in": True, "sub": "u-1", "cognito:groups": ["moderators"]})
    at.sidebar.button(key="console_sign_out").click().run()
    at.run()  # the browser comes back from the provider's sign-out
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]


def test_every_page_checks_the_door_itself_on_later_runs(exposed):
    at = console({"is_logged_in": True, "sub": "u-1", "cognito:groups": ["moderators"]})
    assert [t.value for t in at.title] == ["Review"]
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in"], "the review page did not draw"
    at.user = {"is_logged_in": True, "sub": "u-1", "cognito:groups": ["operators"]}
    at.run()
    assert not at.exception
    assert "This page is for moderators" in texts(at)
    assert "Awaiting review" not in [m.label for m in at.metric]


@pytest.mark.parametrize("page", ["dead_letters", "review", "audit_log", "appeals", "qa"])
def test_a_page_run_on_its_own_url_keeps_the_door(exposed, page):
    """Streamlit may run a page of `pages/` straight from its URL, without app.py."""
    at = AppTest.from_file(str(ROOT / "dashboard" / "pages" / f"{page}.py"), default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    at.user = {"is_logged_in": True, "sub": "u-9", "cognito:groups": ["viewers"]}
    at.run()
    assert "in neither the moderators' group" in texts(at)
