"""Where the project's installed packages are found: --python, $VIRTUAL_ENV, a project venv
(read as files, nothing run), or tenantfix's own interpreter."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

from tenantfix.graph.build import build_graph
from tenantfix.graph.locate import find_packages, packages_note, unresolved_note
from tenantfix.graph.model import (
    USER_MODEL_SETTING,
    AppList,
    AppListEntry,
    Location,
    ProjectSettings,
)

PY = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _settings(installed: list[str]) -> ProjectSettings:
    entries = tuple(
        AppListEntry(v, Location("proj/settings.py", i + 1)) for i, v in enumerate(installed)
    )
    lst = AppList("INSTALLED_APPS", entries, Location("proj/settings.py", 1))
    return ProjectSettings(
        module="proj.settings", path="proj/settings.py", files=(), installed_apps=lst
    )


def _trap(path: Path, marker: Path) -> None:
    """An executable that records being run: a binary that came with the checkout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _venv(venv: Path, marker: Path, version: str = PY) -> Path:
    """A virtualenv as files: pyvenv.cfg, booby-trapped bin/python, empty site-packages."""
    site = venv / "lib" / version / "site-packages"
    site.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(
        f"home = /nonexistent/bin\ninclude-system-site-packages = false\n"
        f"version = {version.removeprefix('python')}.0\n"
    )
    for name in ("python", "python3", version):
        _trap(venv / "bin" / name, marker)
    return site


THIRD_PARTY = {
    "thirdparty_audit/__init__.py": "",
    "thirdparty_audit/apps.py": """\
        from django.apps import AppConfig

        class AuditConfig(AppConfig):
            name = "thirdparty_audit"
            label = "tp_audit"
        """,
    "thirdparty_audit/models.py": """\
        from django.conf import settings
        from django.db import models

        class Entry(models.Model):
            actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
        """,
    "thirdparty_audit/migrations/__init__.py": "",
    "thirdparty_audit/migrations/0001_initial.py": """\
        from django.conf import settings
        from django.db import migrations, models

        class Migration(migrations.Migration):
            initial = True
            dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
            operations = [
                migrations.CreateModel(
                    name="Entry",
                    fields=[("actor", models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.CASCADE))],
                ),
            ]
        """,
}


def test_project_venv_is_read_as_files_and_nothing_is_run(tmp_path):
    project = tmp_path / "proj"
    marker = tmp_path / "EXECUTED"
    site = _venv(project / ".venv", marker)
    _write(site, THIRD_PARTY)
    # an import line in a .pth runs code at start-up: we read .pth files, never execute them
    (site / "evil.pth").write_text(f"import os; open({str(marker)!r}, 'w')\n")
    graph = build_graph(project, _settings(["thirdparty_audit"]), environ={})
    assert not marker.exists()
    [app] = graph.apps
    assert (app.label, app.name, app.local) == ("tp_audit", "thirdparty_audit", False)
    assert app.config_path == "thirdparty_audit.apps.AuditConfig"
    # inside the checkout, so relative to the root like local files (but not local: never edited)
    assert app.path == f".venv/lib/{PY}/site-packages/thirdparty_audit"
    assert app.models[0].relations[0].target == USER_MODEL_SETTING
    assert [m.name for m in app.migrations] == ["0001_initial"]
    assert graph.unresolved_apps == ()
    assert graph.packages is not None
    assert (graph.packages.source, graph.packages.path) == ("venv", ".venv")


def test_pth_directories_and_setuptools_editable_finders(tmp_path):
    project = tmp_path / "proj"
    marker = tmp_path / "EXECUTED"
    site = _venv(project / "venv", marker)
    _write(tmp_path / "checkouts" / "plain", {"plainapp/__init__.py": "", "plainapp/models.py": ""})
    _write(tmp_path / "checkouts" / "mapped" / "src", {"mappedapp/__init__.py": ""})
    # an editable install as hatchling/old setuptools write it: a directory per line
    (site / "_plain.pth").write_text(f"# comment\n\n{tmp_path / 'checkouts' / 'plain'}\n")
    # setuptools >= 64: the .pth imports a finder whose MAPPING we read with ast
    finder = "__editable___mapped_1_0_finder"
    (site / "__editable__.mapped-1.0.pth").write_text(f"import {finder}; {finder}.install()\n")
    (site / f"{finder}.py").write_text(
        f"open({str(marker)!r}, 'w')\n"
        f"MAPPING: dict[str, str] = {{'mappedapp': {str(tmp_path / 'checkouts/mapped/src/mappedapp')!r}}}\n"
    )
    graph = build_graph(project, _settings(["plainapp", "mappedapp", "nowhere"]), environ={})
    assert not marker.exists()
    assert [a.name for a in graph.apps] == ["plainapp", "mappedapp"]
    assert [e.value for e in graph.unresolved_apps] == ["nowhere"]
    assert graph.packages is not None and graph.packages.source == "venv"


def test_order_python_then_virtual_env_then_project_then_repository_then_ours(tmp_path):
    repo = tmp_path / "repo"
    project = repo / "services" / "web"
    project.mkdir(parents=True)
    (repo / ".git").mkdir()
    marker = tmp_path / "EXECUTED"
    _venv(repo / "venv", marker)
    active = tmp_path / "active-env"
    _venv(active, marker)

    found = find_packages(project, None, {})
    assert (found.used.source, found.used.path) == ("venv", (repo / "venv").as_posix())
    _venv(project / ".venv", marker)
    assert find_packages(project, None, {}).used.path == ".venv"
    found = find_packages(project, None, {"VIRTUAL_ENV": str(active)})
    assert (found.used.source, found.used.path) == ("virtual_env", active.as_posix())
    # $VIRTUAL_ENV naming the environment tenantfix runs in (pipx, uvx) says nothing about
    # the project: its venv wins
    assert find_packages(project, None, {"VIRTUAL_ENV": sys.prefix}).used.source == "venv"
    # --python is the user's explicit choice, and it is asked for its sys.path
    found = find_packages(project, sys.executable, {"VIRTUAL_ENV": str(active)})
    assert (found.used.source, found.used.path) == ("python", sys.executable)
    assert any(Path(p).name == "site-packages" for p in found.sys_path)
    assert not marker.exists()

    bare = tmp_path / "bare"
    bare.mkdir()
    found = find_packages(bare, None, {})
    assert (found.used.source, found.used.path) == ("interpreter", sys.executable)


def test_a_directory_without_site_packages_is_not_a_venv(tmp_path):
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert find_packages(tmp_path, None, {}).used.source == "interpreter"


def test_pyvenv_cfg_version_picks_the_live_site_packages(tmp_path):
    marker = tmp_path / "EXECUTED"
    live = _venv(tmp_path / ".venv", marker, version="python3.12")
    stale = tmp_path / ".venv" / "lib" / "python3.9" / "site-packages"
    _write(stale, {"oldapp/__init__.py": ""})
    found = find_packages(tmp_path, None, {})
    assert found.sys_path == (str(live),)


def test_notes_say_where_and_the_way_out(tmp_path):
    found = find_packages(tmp_path, None, {})
    assert packages_note(found.used).startswith("tenantfix: installed packages: tenantfix's own")
    note = unresolved_note(("django_tenants", "shop"), found.used)
    assert note is not None
    assert "'django_tenants', 'shop'" in note and "--python" in note and ".venv" in note
    assert unresolved_note((), found.used) is None


def test_environ_defaults_to_the_process_environment(tmp_path, monkeypatch):
    marker = tmp_path / "EXECUTED"
    active = tmp_path / "env"
    _venv(active, marker)
    monkeypatch.setitem(os.environ, "VIRTUAL_ENV", str(active))
    assert find_packages(tmp_path / "x", None).used.source == "virtual_env"


def test_apply_recheck_copy_links_the_venv_the_analysis_read(tmp_path):
    from tenantfix.pipeline import scratch_copy

    marker = tmp_path / "EXECUTED"
    repo = tmp_path / "repo"
    project = repo / "web"
    (project / "proj").mkdir(parents=True)
    (repo / ".git").mkdir()
    site = _venv(repo / ".venv", marker)
    _write(site, THIRD_PARTY)
    # virtualenvs are not copied into apply's scratch tree: the re-check must still read it
    with scratch_copy(project, {}) as scratch:
        assert (scratch / ".venv").is_symlink()
        found = find_packages(scratch, None, {})
        assert found.used.source == "venv"
        assert [Path(p).resolve() for p in found.sys_path] == [site.resolve()]
    assert (repo / ".venv" / "pyvenv.cfg").is_file()  # cleaning up the copy kept the original
    assert not marker.exists()


def test_unresolved_entries_make_apps_unknown_not_absent(tmp_path):
    _write(tmp_path, {"users/__init__.py": "", "users/models.py": ""})
    shared = AppList(
        "SHARED_APPS",
        (
            AppListEntry("django.contrib.admin", Location("s.py", 2)),
            AppListEntry("mystery_app", Location("s.py", 3)),
        ),
        Location("s.py", 1),
    )
    installed = _settings(["django.contrib.admin", "mystery_app", "users"]).installed_apps
    settings = ProjectSettings(
        module="proj.settings",
        path="proj/settings.py",
        files=(),
        shared_apps=shared,
        installed_apps=installed,
    )
    graph = build_graph(tmp_path, settings, environ={})
    assert [e.value for e in graph.unresolved_in(graph.settings.public_apps())] == ["mystery_app"]
    assert graph.unresolved_in(None) == ()
    # a label nobody has could be mystery_app's; a located one is known
    assert graph.may_be_unresolved("mystery") and not graph.may_be_unresolved("users")
    everything_found = build_graph(tmp_path, _settings(["users"]), environ={})
    assert not everything_found.may_be_unresolved("mystery")


def test_system_site_packages_and_a_symlinked_venv(tmp_path):
    marker = tmp_path / "EXECUTED"
    base = tmp_path / "base-python"
    base_site = base / "lib" / PY / "site-packages"
    _write(base_site, {"systemapp/__init__.py": "", "systemapp/models.py": ""})
    elsewhere = tmp_path / "envs" / "proj"
    _venv(elsewhere, marker)
    cfg = elsewhere / "pyvenv.cfg"
    cfg.write_text(
        cfg.read_text()
        .replace("home = /nonexistent/bin", f"home = {base / 'bin'}")
        .replace("include-system-site-packages = false", "include-system-site-packages = true")
    )
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".venv").symlink_to(elsewhere, target_is_directory=True)
    found = find_packages(project, None, {})
    assert (found.used.source, found.used.path) == ("venv", ".venv")
    assert found.sys_path[-1] == str(base_site)
    graph = build_graph(project, _settings(["systemapp"]), environ={})
    assert [a.name for a in graph.apps] == ["systemapp"] and not marker.exists()
