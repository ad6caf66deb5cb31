"""`make audit`: which findings fail the build, and that an unreachable service is said."""

import importlib.util

from tests.support.paths import ROOT

spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


def dep(name, vulns=(), skip=None):
    d = {"name": name, "version": "1.0", "vulns": list(vulns)}
    if skip:
        d["skip_reason"] = skip
    return d


def test_an_unaccepted_vulnerability_fails_with_its_fix():
    out, _, code = audit.evaluate(
        {
            "dependencies": [
                dep("ok"),
                dep("bad", [{"id": "GHSA-x", "fix_versions": ["1.1"], "aliases": []}]),
            ]
        }
    )
    assert code == 1
    assert "VULNERABLE bad 1.0: GHSA-x (fixed in 1.1)" in out


def test_an_accepted_advisory_is_reported_but_does_not_fail_by_id_or_alias():
    accepted = {"CVE-1": "reviewed"}
    for vuln in ({"id": "CVE-1"}, {"id": "PYSEC-9", "aliases": ["CVE-1"]}):
        out, _, code = audit.evaluate({"dependencies": [dep("lib", [vuln])]}, accepted)
        assert code == 0
        assert any(line.startswith("accepted lib 1.0") for line in out)


def test_the_ecdsa_advisory_is_the_one_accepted_and_has_a_reason():
    assert set(audit.ACCEPTED) == {"GHSA-wj6h-64fc-37mp"}
    assert all(reason.strip() for reason in audit.ACCEPTED.values())


def test_nothing_audited_is_said_not_hidden():
    out, err, code = audit.evaluate({"dependencies": [dep("a", skip="no service")]})
    assert code == 0
    assert "0 of 1 locked packages audited" in out[-1]
    assert err and "nothing was audited" in err[0]
