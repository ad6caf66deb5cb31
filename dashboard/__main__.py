"""Launch the console: `python -m dashboard [options] [target]`.

    python -m dashboard                                   # 127.0.0.1:8501, the local cloud
    python -m dashboard --outputs outputs.json --profile ops --region eu-west-1
    python -m dashboard --bind 0.0.0.0 --stack prod       # sign-in required (secrets.toml)

Bound to 127.0.0.1 unless `--bind` names another address. Served beyond the machine,
the console requires OIDC sign-in: this refuses to start when `.streamlit/secrets.toml`
has no usable `[auth]` section, naming what is missing (docs/dashboard.md). The target
options (`--local`, `--outputs`, `--stack`, `--profile`, `--region`) and the console's
(`--operators-group`, `--require-sign-in`) are passed on to the app.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dashboard.access import ConsoleRefused, LaunchOptions, check_servable, sign_in_required

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
DEFAULT_BIND = "127.0.0.1"


def secrets_files(cwd: Path) -> list[Path]:
    """Where Streamlit reads secrets.toml by default (later files override earlier): the
    user's, the working directory's and the app's own folder's."""
    return [
        Path.home() / ".streamlit" / "secrets.toml",
        cwd / ".streamlit" / "secrets.toml",
        APP.parent / ".streamlit" / "secrets.toml",
    ]


def read_auth(files: Sequence[Path]) -> dict[str, Any] | None:
    """The `[auth]` section Streamlit will see (sections of later files win, as in
    Streamlit's own merge)."""
    found: dict[str, Any] | None = None
    for path in files:
        if not path.is_file():
            continue
        with path.open("rb") as f:
            data = tomllib.load(f)
        if isinstance(data.get("auth"), dict):
            found = {**(found or {}), **data["auth"]}
    return found


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--bind", default=DEFAULT_BIND, help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--operators-group",
        default=os.environ.get("DASHBOARD_OPERATORS_GROUP", "operators"),
        help="the identity provider's group of operators (moderation:banks.operatorGroup)",
    )
    p.add_argument(
        "--require-sign-in",
        action="store_true",
        help="require sign-in even on a loopback address (to try the sign-in locally)",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument("--local", metavar="STATE_DIR")
    target.add_argument("--outputs", metavar="FILE")
    target.add_argument("--stack", metavar="NAME")
    p.add_argument("--profile")
    p.add_argument("--region")
    return p


def streamlit_command(args: argparse.Namespace) -> list[str]:
    app_args = ["--operators-group", args.operators_group]
    if args.require_sign_in:
        app_args.append("--require-sign-in")
    for name in ("local", "outputs", "stack", "profile", "region"):
        value = getattr(args, name)
        if value:
            app_args += [f"--{name}", value]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        args.bind,
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--",
        *app_args,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = LaunchOptions(args.operators_group, args.require_sign_in)
    try:
        check_servable(args.bind, options, read_auth(secrets_files(Path.cwd())))
    except ConsoleRefused as refused:
        print(f"python -m dashboard: {refused}", file=sys.stderr)
        return 2
    if sign_in_required(args.bind, options):
        from streamlit.auth_util import is_authlib_installed

        if not is_authlib_installed():
            print(
                "python -m dashboard: sign-in needs Authlib>=1.3.2 (`make setup` installs "
                "it from requirements.txt).",
                file=sys.stderr,
            )
            return 2
    print(f"console: http://{args.bind}:{args.port}", file=sys.stderr)
    return subprocess.call(streamlit_command(args), cwd=Path.cwd())


if __name__ == "__main__":
    sys.exit(main())
