"""Real settings idioms (tests/fixtures/settings_idioms/<idiom>/), each as a finds and a noop case.

Per case: `check` never refuses (exit 0 or 1), reports exactly the expected errors and
warnings, the resolver yields the expected number of configurations; `apply --no-commit`
clears every fixable error and a second `apply` changes nothing. The differential test loads
the same settings with Django itself under each listed environment and asserts that a
configuration the resolver reported (with matching conditions) has exactly Django's values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from fixture_trees import FIXTURES, check_json, tree
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.discover import discover
from tenantfix.pipeline import Options, analyse
from tenantfix.settings import Configuration, resolve_configurations

IDIOMS = FIXTURES / "settings_idioms"
NAMES = sorted(p.name for p in IDIOMS.iterdir() if (p / "case.toml").is_file())
CASES = [pytest.param(n, v, id=f"{n}-{v}") for n in NAMES for v in ("finds", "noop")]


def spec_of(name: str) -> dict:
    return tomllib.loads((IDIOMS / name / "case.toml").read_text())


def build(name: str, variant: str, dest: Path) -> Path:
    shutil.copytree(IDIOMS / "_base", dest, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        IDIOMS / name, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("case.toml")
    )
    if variant == "noop":
        spec = spec_of(name)
        target = dest / spec.get("settings_file", "proj/settings.py")
        text = target.read_text()
        for old, new in (
            (o.replace("\\n", "\n"), n.replace("\\n", "\n")) for o, n in spec["noop_replace"]
        ):
            assert old in text, (name, old)
            text = text.replace(old, new)
        target.write_text(text)
    return dest


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_idiom(name, variant, tmp_path):
    spec = spec_of(name)
    project = build(name, variant, tmp_path / name)
    exit_code, findings = check_json(project)
    errors = sorted(f["code"] for f in findings if f["severity"] == "error")
    warnings = sorted(f["code"] for f in findings if f["severity"] == "warning")
    tolerated = set(spec.get("tolerate", []))
    if variant == "finds":
        assert [c for c in errors if c not in tolerated] == sorted(spec["errors"]), findings
        for code in spec.get("warnings", []):
            assert code in warnings, findings
        for code in spec.get("absent", []):
            assert code not in errors + warnings, findings
    else:
        assert [c for c in errors + warnings if c not in tolerated] == [], findings
    for rule in spec.get("forbid_messages", []):
        code, _, text = rule.partition(":")
        assert not [f for f in findings if f["code"] == code and text in f["message"]], findings
    assert exit_code == (1 if [c for c in errors if c not in tolerated] else exit_code)
    resolution = resolve_configurations(discover(project))
    if "configurations" in spec and variant == "finds":
        assert len(resolution.configurations) == spec["configurations"], [
            c.describe() for c in resolution.configurations
        ]
    if spec.get("notes"):
        notes = analyse(project, Options()).notes
        for word in spec["notes"]:
            assert any(word in n for n in notes), notes

    runner = CliRunner()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    first = runner.invoke(app, ["apply", "--no-commit", str(project)])
    assert first.exit_code in (0, 1), first.output
    fixed = {f["code"] for f in findings if f["fixable"] and f["severity"] == "error"}
    _, remaining = check_json(project)
    assert not fixed & {f["code"] for f in remaining if f["severity"] == "error"}, remaining
    snapshot = tree(project)
    again = runner.invoke(app, ["apply", "--no-commit", str(project)])
    assert again.exit_code in (0, 1), again.output
    assert tree(project) == snapshot


_DUMP = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from django.conf import settings
settings._setup()
def get(name, default="<absent>"):
    value = getattr(settings, name, default)
    return list(value) if isinstance(value, (list, tuple)) else value
out = {name: get(name) for name in (
    "SHARED_APPS", "TENANT_APPS", "INSTALLED_APPS", "AUTH_USER_MODEL", "TENANT_MODEL",
    "TENANT_DOMAIN_MODEL", "DATABASE_ROUTERS")}
out["ENGINE"] = settings.DATABASES.get("default", {}).get("ENGINE", "<absent>")
types = getattr(settings, "TENANT_TYPES", None)
out["TENANT_TYPES"] = (
    {k: list(v.get("APPS", [])) for k, v in types.items()}
    if getattr(settings, "HAS_MULTI_TYPE_TENANTS", False) else "<absent>"
)
print("DUMP " + json.dumps(out))
"""


def django_values(project: Path, module: str, env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DB_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE=module, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-c", _DUMP, str(project)],
        env=clean,
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("DUMP "))
    return json.loads(line[5:])


def static_values(configuration: Configuration) -> dict:
    """The resolver's values; None where it says 'unknown'."""
    s = configuration.settings

    def lst(name: str, value):
        if s.is_unknown(name):
            return None
        return "<absent>" if value is None else list(value.values)

    out = {
        "SHARED_APPS": lst("SHARED_APPS", s.shared_apps),
        "TENANT_APPS": lst("TENANT_APPS", s.tenant_apps),
        "INSTALLED_APPS": lst("INSTALLED_APPS", s.installed_apps),
    }
    for name, value in (
        ("AUTH_USER_MODEL", s.auth_user_model),
        ("TENANT_MODEL", s.tenant_model),
        ("TENANT_DOMAIN_MODEL", s.tenant_domain_model),
    ):
        out[name] = None if s.is_unknown(name) else (value.value if value else "<absent>")
    if s.is_unknown("DATABASE_ROUTERS"):
        out["DATABASE_ROUTERS"] = None
    else:
        routers = s.database_routers
        out["DATABASE_ROUTERS"] = [r.value for r in routers] if routers is not None else "<absent>"
    out["ENGINE"] = (
        None
        if s.is_unknown("DATABASES")
        else (s.database_engine.value if s.database_engine else "<absent>")
    )
    out["TENANT_TYPES"] = (
        None
        if s.is_unknown("TENANT_TYPES")
        else {k: list(v.values) for k, v in s.tenant_types}
        if s.has_multi_type_tenants
        else "<absent>"
    )
    return out


def _compatible(configuration: Configuration, env: dict[str, str]) -> bool:
    """Do the configuration's environment conditions agree with ``env``?"""
    for alternative in configuration.conditions or ((),):
        ok = True
        for condition in alternative:
            if condition.key.startswith("env:"):
                var = condition.key[4:]
                if (condition.choice == "set") != (var in env):
                    ok = False
            elif condition.key.startswith("module:"):
                ok = ok and condition.choice == "absent"  # fixtures commit what they import
        if ok:
            return True
    return False


def _agrees(static: dict, real: dict) -> bool:
    """Every value the resolver knows equals Django's (lists as multisets: set() loses order)."""

    def norm(v):
        return sorted(map(str, v)) if isinstance(v, list) else v

    return all(value is None or norm(value) == norm(real[name]) for name, value in static.items())


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_differential_against_django(name, variant, tmp_path):
    spec = spec_of(name)
    project = build(name, variant, tmp_path / name)
    location = discover(project)
    resolution = resolve_configurations(location)
    for env in spec["envs"]:
        real = django_values(project, location.settings_module, env)
        candidates = [c for c in resolution.configurations if _compatible(c, env)]
        assert candidates, (env, [c.conditions for c in resolution.configurations])
        matching = [c for c in candidates if _agrees(static_values(c), real)]
        assert matching, (env, real, [static_values(c) for c in candidates])


def test_check_prints_one_note_per_unknown_setting_on_stderr(tmp_path):
    project = build("django_environ", "finds", tmp_path / "p")
    result = CliRunner().invoke(app, ["check", "--format", "json", str(project)])
    assert result.exit_code == 0, result.output  # TF001 rests on an unknown: a warning only
    json.loads(result.stdout)  # stdout stays pure JSON
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("tenantfix: note:")]
    assert len(notes) == 1, result.stderr
    assert "proj/settings.py:14" in notes[0] and "TENANT_APPS and INSTALLED_APPS" in notes[0]
    assert "--probe" in notes[0]


def test_a_star_import_of_an_absent_module_is_one_note_naming_every_setting(tmp_path):
    """tekanokhambane/django-tenants-portal ends its settings with `from .local import *`:
    one cause, so one note (it was one note per setting, eight lines for one missing file)."""
    project = build("local_settings_absent", "finds", tmp_path / "p")
    result = CliRunner().invoke(app, ["check", str(project)])
    notes = [ln for ln in result.stderr.splitlines() if "is not in the checkout" in ln]
    assert len(notes) == 1, result.stderr
    assert "SHARED_APPS, TENANT_APPS" in notes[0] and " and " in notes[0]
    location = notes[0].split(": cannot read", 1)[0].removeprefix("tenantfix: note: ")
    assert notes[0].count(location) == 1, notes[0]  # the location is said once


def test_forks_on_settings_no_rule_reads_do_not_blur_the_app_lists(tmp_path):
    """A real project (Kx24/SaasMvp) forks on a dozen env flags for ALLOWED_HOSTS and friends:
    the app lists stay known and TF001 stays an error."""
    project = build("if_debug", "finds", tmp_path / "p")
    settings = project / "proj" / "settings.py"
    extra = ["ALLOWED_HOSTS = []"] + [
        f'if os.environ.get("FLAG_{i}"):\n    ALLOWED_HOSTS.append("h{i}.example.com")'
        for i in range(12)
    ]
    settings.write_text(settings.read_text() + "\n".join(extra) + "\n")
    resolution = resolve_configurations(discover(project))
    assert not resolution.collapsed
    assert all(not c.settings.unknown for c in resolution.configurations)
    exit_code, findings = check_json(project)
    assert exit_code == 1
    assert [f["code"] for f in findings if f["severity"] == "error"] == ["TF001"]


def test_a_project_without_django_tenants_is_not_judged(tmp_path):
    project = build("if_debug", "finds", tmp_path / "p")
    (project / "proj" / "settings.py").write_text(
        'SECRET_KEY = "x"\nINSTALLED_APPS = ["django.contrib.auth", "django.contrib.admin", '
        '"django.contrib.contenttypes", "accounts"]\nAUTH_USER_MODEL = "accounts.User"\n'
    )
    result = CliRunner().invoke(app, ["check", str(project)])
    assert result.exit_code == 0, result.output
    assert "does not use django-tenants" in result.stderr
    assert "TF008" not in result.stdout


def test_wsgi_settings_module_is_checked_too_and_named(tmp_path):
    """cookiecutter-django layout: manage.py runs settings.local, wsgi.py settings.production."""
    project = build("try_name_error", "noop", tmp_path / "p")
    package = project / "proj" / "settings"
    package.mkdir()
    (project / "proj" / "settings.py").rename(package / "base.py")
    (package / "__init__.py").write_text("")
    (package / "local.py").write_text("from .base import *  # noqa: F403\n")
    (package / "production.py").write_text(
        "from .base import *  # noqa: F403\n"
        'SHARED_APPS = tuple(a for a in SHARED_APPS if a != "accounts")  # noqa: F405\n'
    )
    manage = project / "manage.py"
    manage.write_text(manage.read_text().replace('"proj.settings"', '"proj.settings.local"'))
    (project / "proj" / "wsgi.py").write_text(
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings.production")\n'
        "application = get_wsgi_application()\n"
    )
    exit_code, findings = check_json(project)
    assert exit_code == 1
    (tf001,) = [f for f in findings if f["code"] == "TF001"]
    assert tf001["severity"] == "error"
    assert "(settings proj.settings.production)" in tf001["message"]
    # with --settings the user picks one module: only that one is checked
    result = CliRunner().invoke(
        app, ["check", "--format", "json", "--settings", "proj.settings.local", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == []


def test_one_base_line_wrong_in_two_settings_modules_is_one_finding_naming_both(tmp_path):
    """Lenders-Cooperative/getting-started-with-django-tenants: local.py and production.py
    both import base.py, whose line is the finding; it was printed twice, once per module."""
    project = build("try_name_error", "finds", tmp_path / "p")
    package = project / "proj" / "settings"
    package.mkdir()
    (project / "proj" / "settings.py").rename(package / "base.py")
    (package / "__init__.py").write_text("")
    for name in ("local", "production"):
        (package / f"{name}.py").write_text("from .base import *  # noqa: F403\n")
    manage = project / "manage.py"
    manage.write_text(manage.read_text().replace('"proj.settings"', '"proj.settings.local"'))
    (project / "proj" / "wsgi.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings.production")\n'
    )
    exit_code, findings = check_json(project)
    tf001 = [f for f in findings if f["code"] == "TF001"]
    assert exit_code == 1 and len(tf001) == 1, findings
    assert tf001[0]["message"].endswith("(settings proj.settings.local, proj.settings.production)")
    assert tf001[0]["severity"] == "error"


def test_probe_decides_what_static_reading_could_not(tmp_path, monkeypatch):
    """`--probe` reads this environment's variables and Django's loaded values: the unknown
    TENANT_APPS is decided and TF001 becomes the error it is here."""
    project = build("django_environ", "finds", tmp_path / "p")
    monkeypatch.setenv("TENANT_APPS", "django.contrib.contenttypes,accounts")
    monkeypatch.delenv("DEBUG", raising=False)
    static = CliRunner().invoke(app, ["check", "--format", "json", str(project)])
    assert static.exit_code == 0 and "cannot read TENANT_APPS" in static.stderr
    probed = CliRunner().invoke(app, ["check", "--probe", "--format", "json", str(project)])
    assert probed.exit_code == 1, probed.output
    assert "cannot read" not in probed.stderr
    findings = json.loads(probed.stdout)["findings"]
    assert [(f["code"], f["severity"]) for f in findings] == [("TF001", "error")]
    # an environment in which the user app is not listed at all: TF001 cannot hold there
    monkeypatch.setenv("TENANT_APPS", "django.contrib.contenttypes")
    other = CliRunner().invoke(app, ["check", "--probe", "--format", "json", str(project)])
    severities = {f["code"]: f["severity"] for f in json.loads(other.stdout)["findings"]}
    assert severities["TF001"] == "warning", severities
    assert "error" not in severities.values(), severities


def test_probe_can_be_switched_on_in_pyproject(tmp_path, monkeypatch):
    project = build("django_environ", "finds", tmp_path / "p")
    (project / "pyproject.toml").write_text("[tool.tenantfix]\nprobe = true\n")
    monkeypatch.setenv("TENANT_APPS", "django.contrib.contenttypes,accounts")
    monkeypatch.delenv("DEBUG", raising=False)
    result = CliRunner().invoke(app, ["check", "--format", "json", str(project)])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["graph"] == "probe"


def test_a_wsgi_settings_module_that_cannot_start_is_named_not_fatal(tmp_path):
    """Suhasshende23/tenant_project: production.py imports a name base.py no longer defines."""
    project = build("try_name_error", "finds", tmp_path / "p")
    (project / "proj" / "production.py").write_text(
        "from .settings import *  # noqa: F403\nfrom .settings import REDIS_URL\n"
    )
    (project / "proj" / "wsgi.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.production")\n'
    )
    result = CliRunner().invoke(app, ["check", str(project)])
    assert result.exit_code == 1, result.output  # TF001 of manage.py's module still reported
    assert "TF001" in result.stdout
    assert "proj.production (from wsgi.py/asgi.py) was not checked" in result.stderr
    assert "cannot import name 'REDIS_URL'" in result.stderr


def test_a_fix_that_would_hold_in_only_some_configurations_is_not_written(tmp_path):
    """Two literals define SHARED_APPS (one per run-time branch). Sharing the user app must fix
    both; if the rewrite reaches only one, apply refuses and writes nothing."""
    project = build("if_debug", "finds", tmp_path / "p")
    settings = project / "proj" / "settings.py"
    text = settings.read_text()
    text = text.replace(
        'if DEBUG:\n    SHARED_APPS += ["django.contrib.humanize"]\n',
        'if os.environ.get("LEGACY_LAYOUT"):\n'
        '    SHARED_APPS = [\n        "django_tenants",\n        "customers",\n'
        '        "django.contrib.contenttypes",\n        "django.contrib.auth",\n'
        '        "django.contrib.admin",\n    ]\n',
    )
    settings.write_text(text)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    _, findings = check_json(project)
    assert [(f["code"], f["severity"], f["fixable"]) for f in findings] == [
        ("TF001", "error", False)
    ]
    assert "proj/settings.py:7" in findings[0]["fix_summary"]
    assert "proj/settings.py:20" in findings[0]["fix_summary"]
    before = tree(project)
    result = CliRunner().invoke(app, ["apply", "--no-commit", str(project)])
    assert result.exit_code == 1, result.output  # an unfixable error remains
    assert tree(project) == before


def test_an_unreadable_router_list_holds_tf008_back_instead_of_an_error(tmp_path):
    """TF008 is an error for an app in neither list unless another router may send it
    elsewhere: a router list tenantfix cannot read is not evidence of "no other router"."""
    project = build("try_name_error", "noop", tmp_path / "p")
    settings = project / "proj" / "settings.py"
    text = settings.read_text().replace(
        "INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]",
        "INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]"
        ' + ["django.contrib.sessions"]',
    )
    settings.write_text(text)
    _, findings = check_json(project)
    assert [(f["code"], f["severity"]) for f in findings] == [("TF008", "error")]
    settings.write_text(
        text.replace(
            'DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)',
            'DATABASE_ROUTERS = (os.environ.get("EXTRA_ROUTER"), "django_tenants.routers.TenantSyncRouter")',
        )
    )
    exit_code, findings = check_json(project)
    assert exit_code == 0
    assert not [f for f in findings if f["severity"] == "error"], findings
    notes = analyse(project, Options()).notes
    assert any("DATABASE_ROUTERS" in n and "TF008" in n for n in notes), notes
