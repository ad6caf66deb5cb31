"""The dashboard's AppTests run as the local console: bound to 127.0.0.1.

`streamlit run` reads that address from dashboard/.streamlit/config.toml; AppTest reads
no config file, so it is set here (a test of the signed-in console sets its own).
"""

from __future__ import annotations

import pytest
from streamlit import config


@pytest.fixture(autouse=True)
def console_on_loopback(tmp_path, monkeypatch):
    # the local console keeps wellbeing preferences in a file: never the tester's own
    monkeypatch.setenv("DASHBOARD_PREFERENCES", str(tmp_path / "preferences.json"))
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)
