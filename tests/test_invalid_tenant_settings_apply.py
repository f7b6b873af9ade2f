"""`apply` never runs Django on a project whose django-tenants configuration is invalid (TF014).

Real git repositories, the real CLI process, a full snapshot before and after: exit 3, the
finding named, no traceback, nothing changed and nothing left in the temp dir.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_trees import copy_before
from support_git import init_repo
from support_snapshot import assert_clean_failure, full_snapshot, tenantfix

CASES = {
    "tenant_apps_empty": "TF014 proj/settings.py:18: TENANT_APPS is empty",
    "user_model_not_dotted": (
        "TF014 proj/settings.py:27: AUTH_USER_MODEL = 'users' is not of the form "
        "'app_label.ModelName'"
    ),
    "user_model_app_not_installed": (
        "TF014 proj/settings.py:27: AUTH_USER_MODEL = 'users.User' but app 'users' is not installed"
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--no-commit"], ["--verify"]])
def test_apply_refuses_an_invalid_configuration(case: str, mode: list[str], tmp_path: Path) -> None:
    project = copy_before(f"tf014_tenant_settings_invalid__{case}", tmp_path / "proj")
    # an app without migrations: without the refusal, makemigrations would run Django
    (project / "customers" / "migrations" / "0001_initial.py").unlink()
    repo = init_repo(project)
    tmp = tmp_path / "tmp"
    before = full_snapshot(repo, tmp)
    ran = tenantfix("apply", *mode, str(repo), cwd=repo, tmpdir=tmp)
    assert_clean_failure(ran, 3)
    assert "the django-tenants configuration is invalid, so Django cannot start" in ran.stderr
    assert CASES[case] in ran.stderr
    assert "Nothing was changed" in ran.stderr
    assert "makemigrations" not in ran.output and "ImproperlyConfigured" not in ran.output
    assert full_snapshot(repo, tmp) == before


def test_check_names_the_invalid_setting(tmp_path: Path) -> None:
    repo = init_repo(
        copy_before("tf014_tenant_settings_invalid__tenant_apps_empty", tmp_path / "p")
    )
    ran = tenantfix("check", str(repo), cwd=repo, tmpdir=tmp_path / "tmp")
    assert ran.code == 1, ran.output
    assert "proj/settings.py:18: TF014 error: TENANT_APPS is empty" in ran.stdout
    assert "TENANT_APPS is empty. Maybe you don't need this app?" in ran.stdout
