"""The bundled table of Django's contrib apps against the real packages.

The graph built from the installed Django (5.2 in the test venv) and the one built from the table
(a project whose virtualenv has no Django) must agree on everything the checks and the simulation
read: app identity, models (tables, bases, relations), migrations (dependencies, created tables
and their relations). Other Django versions are compared when a tree of one is at hand (the
`djversions` venvs under the temp dir, or TENANTFIX_TEST_DJANGO_SITES=dir1:dir2, each a
directory holding `django/`).
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tenantfix.discover import discover
from tenantfix.graph import contrib
from tenantfix.graph.build import build_graph
from tenantfix.graph.model import App, AppList, AppListEntry, Location, ProjectSettings
from tenantfix.settings import resolve_settings
from tenantfix.simulate import MigrationGraphError, migration_plan, predict

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
ALL = list(contrib.TABLE)


def _settings(installed: list[str], user: str | None = None) -> ProjectSettings:
    from tenantfix.graph.model import SettingValue

    entries = tuple(
        AppListEntry(v, Location("proj/settings.py", i + 1)) for i, v in enumerate(installed)
    )
    lst = AppList("INSTALLED_APPS", entries, Location("proj/settings.py", 1))
    return ProjectSettings(
        module="proj.settings",
        path="proj/settings.py",
        files=(),
        installed_apps=lst,
        auth_user_model=SettingValue(user, Location("proj/settings.py", 1)) if user else None,
    )


USERS_APP = {
    "users/__init__.py": "",
    "users/models.py": """\
        from django.contrib.auth.models import AbstractUser

        class User(AbstractUser):
            pass
        """,
}


def _project(root: Path, site_packages: Path | None = None) -> Path:
    """A project with a `.venv` read as files: empty, or naming ``site_packages`` in a .pth."""
    site = root / ".venv" / "lib" / PY / "site-packages"
    site.mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /nonexistent\n")
    if site_packages is not None:
        (site / "django-tree.pth").write_text(f"{site_packages}\n")
    for rel, text in USERS_APP.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def _relations(rels, written: bool = True) -> tuple:
    return tuple((r.kind, r.field_name, r.target, r.written if written else "") for r in rels)


def _essence(app: App, *, config_path: bool = True, written: bool = True) -> dict:
    """What the checks and the simulation read of an app (no file locations)."""
    return {
        "label": app.label,
        "name": app.name,
        "config_path": app.config_path if config_path else None,
        "local": app.local,
        "has_migrations_module": app.has_migrations_module,
        "models": [
            (m.name, m.db_table, m.abstract, m.proxy, m.bases, _relations(m.relations, written))
            for m in app.models
        ],
        "migrations": {m.name: _migration(m, written) for m in app.migrations},
    }


def _migration(m, written: bool = True) -> tuple:
    return (
        m.dependencies,
        m.initial,
        m.replaces,
        m.run_before,
        tuple(
            (c.name, c.db_table, c.proxy, c.managed, c.swappable, _relations(c.relations, written))
            for c in m.created_models
        ),
        tuple((name, _relations([r], written)) for name, r in m.added_relations),
        m.altered_tables,
    )


CASES = {
    "every contrib app, auth.User": (ALL, None),
    "custom user model": (["users", *ALL], "users.User"),
    # without contenttypes/sites, imported model classes do not resolve: the table must agree
    "admin and flatpages alone": (
        ["users", "django.contrib.admin", "django.contrib.flatpages"],
        "users.User",
    ),
    "appconfig paths": (
        [
            "django.contrib.admin.apps.SimpleAdminConfig",
            "django.contrib.auth.apps.AuthConfig",
            "django.contrib.contenttypes",
        ],
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_table_equals_the_installed_django(case, tmp_path):
    installed, user = CASES[case]
    settings = _settings(installed, user)
    real = build_graph(_project(tmp_path / "real"), settings, python=sys.executable)
    table = build_graph(_project(tmp_path / "table"), settings, environ={})
    assert real.packages is not None and real.packages.bundled == ()
    assert table.packages is not None and table.packages.source == "venv"
    assert set(table.packages.bundled) == {a.label for a in table.apps if not a.local}
    assert real.unresolved_apps == table.unresolved_apps == ()
    assert [_essence(a) for a in table.apps] == [_essence(a) for a in real.apps]
    # and so Django's migration plan (or the loader's error) is the same
    assert _plan(table) == _plan(real)


def _plan(graph) -> list | str:
    try:
        return [m.key for m in migration_plan(graph)]
    except MigrationGraphError as exc:  # e.g. admin without contenttypes, as Django says
        return str(exc)


def test_writeup_project_predictions_are_the_same_without_django(tmp_path):
    real_root = shutil.copytree(FIXTURES / "writeup_project", tmp_path / "real")
    table_root = shutil.copytree(FIXTURES / "writeup_project", tmp_path / "table")
    (table_root / ".venv" / "lib" / PY / "site-packages").mkdir(parents=True)
    (table_root / ".venv" / "pyvenv.cfg").write_text("home = /nonexistent\n")
    real = build_graph(real_root, resolve_settings(discover(real_root)), environ={})
    table = build_graph(table_root, resolve_settings(discover(table_root)), environ={})
    assert table.packages is not None and "admin" in table.packages.bundled

    def outcome(graph):
        return [
            (p.schema, p.step, p.failed_migration, p.error, p.recorded, p.tables)
            for p in predict(graph)
        ]

    # third-party apps (django_tenants, celery beat, ...) are unresolved in `table`: leave
    # them out of both so that only the contrib apps differ in origin
    contrib_and_local = {a.label for a in table.apps}
    assert {a.label for a in real.apps} > contrib_and_local
    assert [_essence(a) for a in table.apps if not a.local] == [
        _essence(a) for a in real.apps if a.label in contrib_and_local and not a.local
    ]
    public = outcome(table)[0]
    assert (public[2], public[3]) == ("admin.0001_initial", 'relation "users_user" does not exist')
    assert (public[2], public[3]) == outcome(real)[0][2:4]


def test_a_newer_contrib_migration_the_project_depends_on_joins_the_plan(tmp_path):
    # a project made with a Django newer than the table depends on a migration we do not know
    root = _project(tmp_path / "p")
    (root / "users" / "migrations").mkdir()
    (root / "users" / "migrations" / "__init__.py").write_text("")
    (root / "users" / "migrations" / "0001_initial.py").write_text(
        textwrap.dedent(
            """\
            from django.db import migrations

            class Migration(migrations.Migration):
                initial = True
                dependencies = [("auth", "0013_some_future_change"), ("auth", "0014_later")]
                operations = [migrations.CreateModel(name="User", fields=[])]
            """
        )
    )
    graph = build_graph(root, _settings(["users", *ALL], "users.User"), environ={})
    auth = graph.app("auth")
    assert [m.name for m in auth.migrations][-3:] == [
        "0012_alter_user_first_name_max_length",
        "0013_some_future_change",
        "0014_later",
    ]
    plan = [f"{m.app_label}.{m.name}" for m in migration_plan(graph)]
    assert plan.index("auth.0014_later") < plan.index("users.0001_initial")
    assert predict(graph)[0].error is None


def _django_version(site: Path) -> tuple[int, ...] | None:
    init = site / "django" / "__init__.py"
    try:
        tree = ast.parse(init.read_text())
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "VERSION"
        ):
            value = ast.literal_eval(node.value)
            return tuple(v for v in value if isinstance(v, int))
    return None


def _other_djangos() -> list[Path]:
    found: list[Path] = []
    for item in os.environ.get("TENANTFIX_TEST_DJANGO_SITES", "").split(os.pathsep):
        if item:
            found.append(Path(item))
    tmp = Path(tempfile.gettempdir())
    # tests/test_django_versions.py caches its venvs in tenantfix-ci-venvs
    for base in tmp.iterdir() if tmp.is_dir() else ():
        name = base.name.lower()
        if not ("dj" in name or name == "tenantfix-ci-venvs") or not base.is_dir():
            continue
        for pattern in ("lib/python*/site-packages", "*/lib/python*/site-packages"):
            found.extend(base.glob(pattern))
    here = Path(__import__("django").__file__).parent.parent.resolve()
    by_version: dict[tuple[int, ...], Path] = {}
    for site in sorted({p.resolve() for p in found} - {here}):
        version = _django_version(site)
        if version:
            by_version.setdefault(version[:3], site)
    return [by_version[v] for v in sorted(by_version)]


OTHERS = _other_djangos()


@pytest.mark.skipif(not OTHERS, reason="no other Django tree at hand (djversions venvs)")
@pytest.mark.parametrize("site", OTHERS, ids=lambda p: ".".join(map(str, _django_version(p)[:3])))
def test_table_agrees_with_other_django_versions(site, tmp_path):
    version = _django_version(site)
    assert version is not None
    settings = _settings(["users", *ALL], "users.User")
    real = build_graph(_project(tmp_path / "real", site), settings, environ={})
    table = build_graph(_project(tmp_path / "table"), settings, environ={})
    assert real.packages is not None and real.packages.bundled == ()
    # before 3.2 the default AppConfig is named by default_app_config, which we do not read;
    # the source text of a target (quote style) is not compared across versions
    with_config = version >= (3, 2)
    real_apps = {a.label: _essence(a, config_path=with_config, written=False) for a in real.apps}
    for app in table.apps:
        mine = _essence(app, config_path=with_config, written=False)
        theirs = real_apps.pop(app.label)
        assert mine["models"] == theirs["models"], app.label
        assert {k: v for k, v in mine.items() if k not in ("models", "migrations")} == {
            k: v for k, v in theirs.items() if k not in ("models", "migrations")
        }
        # every real migration is in the table as it is on disk; the table may hold later
        # ones (the newest Django's), which create nothing
        for name, migration in theirs["migrations"].items():
            assert mine["migrations"].get(name) == migration, f"{app.label}.{name}"
        for name in mine["migrations"].keys() - theirs["migrations"].keys():
            assert mine["migrations"][name][4:] == ((), (), ()), f"{app.label}.{name}"
    assert real_apps == {}
