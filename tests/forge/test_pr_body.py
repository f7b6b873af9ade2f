from __future__ import annotations

from tenantfix.graph.model import Location
from tenantfix.plan import Diagnostic, Prediction
from tenantfix.pr_body import Verification, fingerprint_from_body, render

DIAG = Diagnostic(
    code="TF001",
    message="user app 'users' is only in TENANT_APPS | shared apps use it",
    location=Location("proj/settings.py", 12),
    why="admin.LogEntry references users.User",
    fix_summary="add 'users' to SHARED_APPS",
    prediction=Prediction(
        "migrate_schemas --shared", "admin.0001_initial", 'relation "users_user" does not exist'
    ),
)
OLD = b"A = [\n    'x',\n]\n"
NEW = b"A = [\n    'x',\n    'users',\n]\n"


def body(**kw):
    args = dict(
        title="tenantfix: move the user app into SHARED_APPS",
        fixed=[DIAG],
        changes={"proj/settings.py": NEW, "audit/migrations/0001_initial.py": b"a\nb\n"},
        originals={"proj/settings.py": OLD, "audit/migrations/0001_initial.py": None},
        base="main",
        base_sha="a" * 40,
        fingerprint="0123456789abcdef",
        prefix="app/",
    )
    args.update(kw)
    return render(**args)


def test_body_is_the_reviewer_report():
    text = body()
    assert fingerprint_from_body(text) == "0123456789abcdef"
    assert text.startswith("<!-- tenantfix:fingerprint=0123456789abcdef -->")
    assert (
        '`migrate_schemas --shared` will fail at `admin.0001_initial` with `relation "users_user" does not exist`'
        in text
    )
    # table cells are escaped, paths carry the project's folder in the repository
    assert (
        "| TF001 | `app/proj/settings.py:12` | user app 'users' is only in TENANT_APPS \\| shared apps use it |"
        in text
    )
    assert "| `app/proj/settings.py` | modified, +1 -0 |" in text
    assert "| `app/audit/migrations/0001_initial.py` | new file, 2 lines |" in text
    assert "tenantfix repair-db" in text and "migrate_schemas --shared" in text
    assert "not part of this job" in text  # no --verify


def test_verification_section():
    ok = body(
        verification=Verification(True, "migrate_schemas --shared and --tenant passed", "log line")
    )
    assert "**passed**: migrate_schemas --shared and --tenant passed" in ok
    assert "<details><summary>Log</summary>" in ok and "log line" in ok
    bad = body(verification=Verification(False, "admin.0001_initial failed"))
    assert "**FAILED**: admin.0001_initial failed" in bad


def test_fingerprint_absent_or_last_wins():
    assert fingerprint_from_body("no marker") is None
    assert (
        fingerprint_from_body(
            "<!-- tenantfix:fingerprint=aa -->\n<!-- tenantfix:fingerprint=bb -->"
        )
        == "bb"
    )
