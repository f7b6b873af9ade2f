"""``tenantfix.django`` in real Django + django-tenants projects: ``manage.py check`` output,
exit codes, tags, silencing, the analysis-failure warning, and the same codes as
``tenantfix check --probe`` on every fixture project."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from support_django_app import (
    FIXTURES,
    copy_fixture,
    install_in_installed_apps,
    install_in_shared_apps,
    manage,
    settings_file,
)

from tenantfix.discover import discover

IDS = re.compile(r"\(tenantfix\.([EW]\d{3})\)")


def _ids(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(IDS.findall(proc.stdout + proc.stderr))


def test_writeup_project_check_stops_with_tenantfix_E001(tmp_path):
    root = copy_fixture("writeup_project", tmp_path)
    install_in_shared_apps(root)
    proc = manage(root, "check")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(
        "SystemCheckError: System check identified some issues:\n\nERRORS:"
    )
    assert (
        "<UsersConfig: users>: (tenantfix.E001) user app 'users' (AUTH_USER_MODEL = 'users.User') "
        "is only in TENANT_APPS, but shared apps use the user model: admin "
        "(accreditation_portal/settings.py:37). What breaks: `migrate_schemas --shared` will fail "
        'at `admin.0001_initial` with `relation "users_user" does not exist`.'
    ) in proc.stderr
    assert "\tHINT: add 'users' to SHARED_APPS and remove it from TENANT_APPS" in proc.stderr
    # the second problem of the write-up: audit has models and no migrations
    assert "<AuditConfig: audit>: (tenantfix.E005) app 'audit' defines 1 model(s)" in proc.stderr
    assert _ids(proc) == ["E001", "E005"]
    assert "System check identified 2 issues (0 silenced)." in proc.stderr


@pytest.mark.parametrize("install", [install_in_shared_apps, install_in_installed_apps])
def test_fixed_project_is_clean(fixed_project, tmp_path, install):
    root = shutil.copytree(
        fixed_project, tmp_path / "portal", ignore=shutil.ignore_patterns(".git")
    )
    install(root)
    proc = manage(root, "check")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        "System check identified no issues (0 silenced).\n",
        "",
    )
    # INSTALLED_APPS only: the app has no models or migrations, so TF008 does not fire on it
    # (nor statically: the CLI reads the same settings)
    static = subprocess.run(
        [sys.executable, "-m", "tenantfix", "check", str(root), "-f", "json"],
        capture_output=True,
        text=True,
    )
    assert static.returncode == 0, static.stdout + static.stderr
    assert json.loads(static.stdout)["findings"] == []


def test_warning_only_project_passes_unless_fail_level_warning(tmp_path):
    root = copy_fixture("tf011_user_app_in_both_lists__users_in_both", tmp_path)
    install_in_installed_apps(root)
    default = manage(root, "check")
    assert default.returncode == 0
    assert (
        "WARNINGS:\n<UsersConfig: users>: (tenantfix.W011) the user app 'users'" in default.stderr
    )
    assert _ids(default) == ["W011"]
    strict = manage(root, "check", "--fail-level", "WARNING")
    assert strict.returncode == 1
    assert strict.stderr.startswith("SystemCheckError:")
    assert _ids(strict) == ["W011"]


def test_tag_tenantfix_runs_only_tenantfix_checks(tmp_path):
    root = copy_fixture("writeup_project", tmp_path)
    install_in_shared_apps(root)
    # a Django check of another tag fires on the same project: models.W042-like noise is
    # avoided by a settings check that is certain, security.W018 (DEBUG) under --deploy
    ours = manage(root, "check", "--tag", "tenantfix", "--deploy")
    assert _ids(ours) == ["E001", "E005"]
    assert "security." not in ours.stderr
    theirs = manage(root, "check", "--tag", "security", "--deploy")
    assert _ids(theirs) == []
    assert "(security.W018)" in theirs.stderr
    tags = manage(root, "check", "--list-tags")
    assert "tenantfix" in tags.stdout.split()


def test_silenced_system_checks_opts_out_of_one_rule(tmp_path):
    root = copy_fixture("writeup_project", tmp_path)
    install_in_shared_apps(root)
    path = settings_file(root)
    path.write_text(path.read_text() + '\nSILENCED_SYSTEM_CHECKS = ["tenantfix.E001"]\n')
    proc = manage(root, "check")
    assert proc.returncode == 1
    assert _ids(proc) == ["E005"]
    assert "(1 silenced)" in proc.stderr


# (file to write, its text, the one-line summary the warning must carry)
MALFORMED = {
    "syntax_error": (
        "0002_broken.py",
        "class Migration(:\n    pass\n",
        r"SyntaxError: .*0002_broken",
    ),
    "package_raises": ("__init__.py", "raise RuntimeError('boom')\n", r"RuntimeError: boom"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_analysis_failure_is_one_warning_and_check_still_runs(tmp_path, case):
    name, text, summary = MALFORMED[case]
    root = copy_fixture("tf001_user_app_not_shared__noop", tmp_path)
    install_in_installed_apps(root)
    migrations = next(p for p in root.rglob("migrations") if (p / "0001_initial.py").exists())
    (migrations / name).write_text(text)
    proc = manage(root, "check")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _ids(proc) == ["W000"]
    assert re.search(
        r"\?: \(tenantfix\.W000\) tenantfix could not analyse this project \(" + summary,
        proc.stderr,
    ), proc.stderr
    assert "System check identified 1 issue (0 silenced)." in proc.stderr
    # the CLI's precise mode reads what it can (the unparseable file is skipped, as statically;
    # a migrations package that raises sends the probe back to reading the app directories)
    cli = subprocess.run(
        [sys.executable, "-m", "tenantfix", "check", str(root), "--probe", "-f", "json"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    report = json.loads(cli.stdout)
    assert report["findings"] == []
    assert report["graph"] == "probe"


# a Django 2.2 project on django-tenant-schemas: not installable next to the suite's Django; its
# probe runs in tests/test_django_versions.py's Django 2.2 virtualenv
OTHER_INTERPRETER = {"tenant_schemas_project_django22"}


def _fixture_projects() -> list[str]:
    names = []
    for path in sorted(FIXTURES.iterdir()):
        if path.name in OTHER_INTERPRETER:
            continue
        source = path / "before" if (path / "before").is_dir() else path
        if (source / "manage.py").is_file():
            names.append(path.name)
    return names


# Django (or django-tenants' own AppConfig.ready()) refuses these settings at start-up, before
# any system check runs: `manage.py` cannot start, the probe cannot either and the CLI falls
# back to its static reading, which still reports them. (fixture -> the ImproperlyConfigured text)
REFUSED_AT_STARTUP = {
    "tf010_tenant_router_or_backend_missing__router_and_engine": (
        "TF010",
        "DATABASE_ROUTERS setting must contain 'django_tenants.routers.TenantSyncRouter'",
    ),
    "tf010_tenant_router_or_backend_missing__with_app_without_migrations": (
        "TF010",
        "DATABASE_ROUTERS setting must contain 'django_tenants.routers.TenantSyncRouter'",
    ),
    "tf014_tenant_settings_invalid__tenant_apps_empty": ("TF014", "TENANT_APPS is empty"),
    "tf014_tenant_settings_invalid__user_model_app_not_installed": (
        "TF014",
        "AUTH_USER_MODEL refers to model 'users.User' that has not been installed",
    ),
    "tf014_tenant_settings_invalid__user_model_not_dotted": (
        "TF014",
        "AUTH_USER_MODEL must be of the form 'app_label.model_name'",
    ),
}


@pytest.mark.parametrize("name", _fixture_projects())
def test_check_probe_and_manage_py_check_report_the_same_codes(tmp_path, name):
    root = copy_fixture(name, tmp_path)
    install_in_installed_apps(root)
    django = manage(root, "check", "--tag", "tenantfix")
    module = discover(root).settings_module
    argv = ["check", str(root), "--probe", "-f", "json", "--settings", module]
    cli = subprocess.run(
        [sys.executable, "-m", "tenantfix", *argv],
        capture_output=True,
        text=True,
    )
    report = json.loads(cli.stdout)
    if name in REFUSED_AT_STARTUP:
        code, refusal = REFUSED_AT_STARTUP[name]
        assert django.returncode == 1
        assert f"ImproperlyConfigured: {refusal}" in django.stderr, django.stderr
        assert report["graph"] == "static"
        assert code in {f["code"] for f in report["findings"]}
        return
    assert report["graph"] == "probe", cli.stderr
    expected = sorted(
        ("E" if f["severity"] == "error" else "W") + f["code"][2:] for f in report["findings"]
    )
    assert _ids(django) == expected, django.stderr
    assert django.returncode == (1 if any(c.startswith("E") for c in expected) else 0)


def test_settings_package_findings_point_into_the_module_that_holds_the_lists(tmp_path):
    # config/settings/__init__.py doing `from .base import *` (seen on
    # CharitraPrajapati-Outcode/multi-tenant-boilerplate): the line is searched in base.py too
    root = copy_fixture("tf001_user_app_not_shared__custom_db_table", tmp_path)
    package = root / "proj" / "settings"
    package.mkdir()
    (root / "proj" / "settings.py").rename(package / "base.py")
    (package / "__init__.py").write_text("from .base import *  # noqa: F403\n")
    install_in_installed_apps(root)  # appended to __init__.py, the module Django loads
    base = (package / "base.py").read_text().splitlines()
    line = next(
        i for i, text in enumerate(base, 1) if text.strip() in ("'accounts',", '"accounts",')
    )
    proc = manage(root, "check")
    assert _ids(proc) == ["E001"], proc.stderr
    assert f"(proj/settings/base.py:{line})." in proc.stderr, proc.stderr


def test_installed_apps_built_through_set_is_reported_whatever_this_process_order(tmp_path):
    # list(set(...)): Django's order is this process's string hash order; the finding must not
    # depend on it (as statically: "ordered through set()")
    root = copy_fixture("tf009_django_tenants_not_first__set_ordering", tmp_path)
    install_in_installed_apps(root)
    for seed in ("0", "1", "2", "3"):
        proc = manage(root, "check", "--tag", "tenantfix", env={"PYTHONHASHSEED": seed})
        assert _ids(proc) == ["W009"], (seed, proc.stderr)


def test_check_of_named_apps_keeps_only_their_findings(tmp_path):
    # `manage.py check audit` passes app_configs: findings about other apps are left out
    root = copy_fixture("writeup_project", tmp_path)
    install_in_shared_apps(root)
    proc = manage(root, "check", "audit")
    assert proc.returncode == 1
    assert _ids(proc) == ["E005"]
    assert "<AuditConfig: audit>: (tenantfix.E005)" in proc.stderr
    both = manage(root, "check", "audit", "users")
    assert _ids(both) == ["E001", "E005"]
