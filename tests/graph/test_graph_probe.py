"""The probe (Django's own registry and loader in a subprocess) agrees with the static graph."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tenantfix.discover import discover
from tenantfix.graph.build import build_graph
from tenantfix.graph.probe import probe
from tenantfix.settings import resolve_settings
from tenantfix.simulate import MigrationGraphError, migration_plan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _copy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.mark.parametrize("name", ["writeup_project", "sim_multi_type", "sim_empty_migrations"])
def test_probe_matches_static_graph_and_plan(tmp_path, name):
    root = _copy(tmp_path, name)
    settings = resolve_settings(discover(root))
    result = probe(root, settings.module)
    assert result is not None
    probed = build_graph(root, settings, probe=result)
    static = build_graph(root, settings)
    assert (probed.source, static.source) == ("probe", "static")
    assert [(a.label, a.name, a.config_path, a.path, a.local) for a in probed.apps] == [
        (a.label, a.name, a.config_path, a.path, a.local) for a in static.apps
    ]
    assert probed.unresolved_apps == static.unresolved_apps == ()
    try:
        plan = [m.key for m in migration_plan(static)]
    except MigrationGraphError as exc:
        assert result.plan is None and result.error == str(exc)
    else:
        assert result.error is None and list(result.plan) == plan


def test_probe_returns_none_when_settings_do_not_import(tmp_path):
    root = _copy(tmp_path, "sim_multi_type")
    settings_py = root / "proj" / "settings.py"
    settings_py.write_text(settings_py.read_text() + "\nimport module_that_does_not_exist\n")
    assert probe(root, "proj.settings") is None
