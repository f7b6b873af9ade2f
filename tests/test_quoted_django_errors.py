"""The errors TF006, TF009 and TF010 quote are the ones Django and django-tenants really print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_trees import check_json, copy_before


def manage(project: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def test_tf010_quotes_what_django_tenants_raises(tmp_path):
    project = tmp_path / "p"
    copy_before("tf010_tenant_router_or_backend_missing__router_and_engine", project)
    _, findings = check_json(project)
    router, engine = sorted(findings, key=lambda f: f["message"])
    printed = manage(project, "check")
    quoted = re.search(r"`(ImproperlyConfigured: [^`]+)`", router["why"]).group(1)
    assert quoted in printed

    # With the router in place, the plain ENGINE is what fails next, before any connection.
    settings = project / "proj" / "settings.py"
    settings.write_text(
        settings.read_text() + 'DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)\n'
    )
    printed = manage(project, "migrate_schemas", "--shared")
    quoted = re.search(r"`(AttributeError: [^`]+)`", engine["why"]).group(1)
    assert quoted in printed


def test_tf009_missing_app_quotes_what_django_prints(tmp_path):
    project = tmp_path / "p"
    copy_before("tf009_django_tenants_not_first__noop", project)
    settings = project / "proj" / "settings.py"
    settings.write_text(settings.read_text().replace('    "django_tenants",\n', "", 1))
    _, findings = check_json(project)
    (finding,) = [f for f in findings if f["code"] == "TF009"]
    assert finding["message"] == "'django_tenants' is missing from SHARED_APPS"
    quoted = re.search(r"`(Unknown command: [^`]+)`", finding["why"]).group(1)
    assert quoted in manage(project, "migrate_schemas")


@pytest.mark.parametrize(
    "case",
    [
        "tf006_hardcoded_user_model_in_field__auth_user",
        "tf006_hardcoded_user_model_in_field__auth_models_attribute",
        "tf006_hardcoded_user_model_in_field__imported_contrib_user",
    ],
)
def test_tf006_quotes_django_fields_e301(tmp_path, case):
    """TF006's E301 text and hint are Django's own, character for character."""
    from tenantfix.checks.tf006_hardcoded_user_model_in_field import E301, E301_HINT

    project = tmp_path / "p"
    copy_before(case, project)
    _, findings = check_json(project)
    (finding,) = findings
    assert (finding["code"], finding["severity"]) == ("TF006", "error")
    printed = manage(project, "check")
    assert f"shop.Order.buyer: {E301}" in printed
    assert f"\t{E301_HINT}" in printed
    assert f"shop.Order.buyer: {E301}" in finding["why"]
    assert E301_HINT in finding["why"]


def test_tf009_missing_from_installed_apps_is_the_error_django_prints(tmp_path):
    project = tmp_path / "p"
    copy_before("tf009_django_tenants_not_first__missing", project)
    _, findings = check_json(project)
    (finding,) = findings
    assert finding["severity"] == "error"
    quoted = re.search(r"`(Unknown command: [^`]+)`", finding["why"]).group(1)
    assert quoted in manage(project, "migrate_schemas")


_SETUP_AND_MODELS = (
    "import django\n"
    "django.setup()\n"
    "from django_tenants.utils import get_tenant_domain_model, get_tenant_model\n"
    "for get in (get_tenant_model, get_tenant_domain_model):\n"
    "    try:\n"
    "        get()\n"
    "    except Exception as exc:\n"
    "        print(f'{type(exc).__name__}: {exc}')\n"
)


def _tf014_variant(tmp_path: Path, case: str, edits: tuple[tuple[str, str], ...]) -> Path:
    project = tmp_path / "p"
    copy_before(f"tf014_tenant_settings_invalid__{case}", project)
    settings = project / "proj" / "settings.py"
    for old, new in edits:
        assert old in settings.read_text()
        settings.write_text(settings.read_text().replace(old, new))
    return project


_SOME_TENANT_APP = ("TENANT_APPS = []\n", 'TENANT_APPS = ["django.contrib.sessions"]\n')
TF014_VARIANTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "tenant_apps_empty": ("tenant_apps_empty", ()),
    "user_model_not_dotted": ("user_model_not_dotted", ()),
    "user_model_app_not_installed": ("user_model_app_not_installed", ()),
    "tenant_model_no_such_model": ("tenant_model_no_such_model", ()),
    "shared_apps_missing": ("shared_apps_missing", ()),
    "tenant_apps_missing": (
        "tenant_apps_empty",
        (
            ("TENANT_APPS = []\n", ""),
            (
                "INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]",
                "INSTALLED_APPS = list(SHARED_APPS)",
            ),
        ),
    ),
    "tenant_model_missing": (
        "tenant_apps_empty",
        (_SOME_TENANT_APP, ('TENANT_MODEL = "customers.Client"\n', "")),
    ),
    "domain_model_not_dotted": (
        "tenant_apps_empty",
        (
            _SOME_TENANT_APP,
            ('TENANT_DOMAIN_MODEL = "customers.Domain"', 'TENANT_DOMAIN_MODEL = "customers"'),
        ),
    ),
    "tenant_model_app_not_installed": (
        "tenant_model_no_such_model",
        (('TENANT_MODEL = "customers.Tenant"', 'TENANT_MODEL = "shop.Client"'),),
    ),
}


@pytest.mark.parametrize("variant", list(TF014_VARIANTS))
def test_tf014_quotes_what_django_and_django_tenants_raise(variant: str, tmp_path: Path) -> None:
    case, edits = TF014_VARIANTS[variant]
    project = _tf014_variant(tmp_path, case, edits)
    _, findings = check_json(project)
    whys = [f["why"] for f in findings if f["code"] == "TF014"]
    assert len(whys) == 1, findings
    quotes = re.findall(r"`((?:[A-Z]\w*Error|ImproperlyConfigured): [^`]+)`", whys[0])
    assert quotes, whys[0]
    printed = manage(project, "makemigrations", "--check", "--dry-run") + run_script(
        project, _SETUP_AND_MODELS
    )
    missing = [q for q in quotes if q not in printed]
    assert not missing, printed


def run_script(project: Path, code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "proj.settings"},
    )
    return done.stdout + done.stderr
