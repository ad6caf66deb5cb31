"""`make audit`: pip-audit of the locked dependencies; fails on a known vulnerability.

pip-audit asks PyPI's JSON API (or OSV) about each pinned version. Where that
service cannot be reached (a registry mirror that only serves the simple index),
every package comes back unaudited: this script says so plainly instead of
reporting a clean bill of health, and does not fail the build for it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", str(ROOT / "requirements.txt"), "--no-deps",
         "--disable-pip", "--progress-spinner", "off", "--format", "json"],
        capture_output=True, text=True,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        print(proc.stderr.strip() or "pip-audit produced no report", file=sys.stderr)
        return 1
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    audited = len(deps) - len(skipped)
    print(f"pip-audit: {audited} of {len(deps)} locked packages audited, "
          f"{len(vulnerable)} with known vulnerabilities")
    if skipped and not audited:
        print("pip-audit could not reach a vulnerability service from this machine (the package "
              "mirror does not serve PyPI's JSON API): nothing was audited.", file=sys.stderr)
    return 1 if vulnerable else 0


if __name__ == "__main__":
    raise SystemExit(main())
