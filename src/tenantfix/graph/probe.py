"""Ask the project's own interpreter for its exact app registry and migration plan.

When the project's interpreter can import Django and the settings, a subprocess runs
``django.setup()`` and prints, as JSON, every AppConfig (label, module, class path, directory)
and the migration plan Django's ``MigrationLoader`` gives an empty database (or the loader's
error). Nothing touches a database: the loader is built without a connection. The static graph
stays the fallback; :func:`tenantfix.graph.build.build_graph` records which one was used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import django
from django.conf import settings as S

def _plain(v):
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return v if v is None or isinstance(v, (str, bool, int)) else repr(v)

# The values the rules read, as Django loaded them (decides what static reading could not).
values = {}
for name in ("SHARED_APPS", "TENANT_APPS", "INSTALLED_APPS", "AUTH_USER_MODEL", "TENANT_MODEL",
             "TENANT_DOMAIN_MODEL", "DATABASE_ROUTERS", "HAS_MULTI_TYPE_TENANTS", "TENANT_TYPES"):
    if hasattr(S, name):
        values[name] = _plain(getattr(S, name))
values["ENGINE"] = _plain(S.DATABASES.get("default", {}).get("ENGINE"))
print("TENANTFIX-SETTINGS " + json.dumps(values))
django.setup()
from django.apps import apps
from django.db.migrations.loader import MigrationLoader
out = {"apps": [], "plan": None, "error": None}
for ac in apps.get_app_configs():
    cls = type(ac)
    out["apps"].append({
        "label": ac.label,
        "name": ac.name,
        "config_path": cls.__module__ + "." + cls.__qualname__,
        "path": ac.path,
    })
try:
    loader = MigrationLoader(None, ignore_no_migrations=False)
except Exception as exc:
    out["error"] = type(exc).__name__ + ": " + str(exc)
else:
    graph, plan, seen = loader.graph, [], set()
    for target in graph.leaf_nodes():
        for key in graph.forwards_plan(target):
            if key not in seen:
                seen.add(key)
                plan.append(list(key))
    out["plan"] = plan
print("TENANTFIX-PROBE " + json.dumps(out))
"""


@dataclass(frozen=True, slots=True)
class ProbedApp:
    """One AppConfig as Django built it."""

    label: str
    name: str
    config_path: str | None  # None for the bare ``django.apps.AppConfig``
    path: str


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The registry and the plan (``None`` with ``error`` when the loader failed)."""

    apps: tuple[ProbedApp, ...]
    plan: tuple[tuple[str, str], ...] | None
    error: str | None
    # settings as Django loaded them (JSON values); absent names are not keys
    settings: dict[str, object] | None = None


def probe(
    root: Path,
    settings_module: str,
    *,
    python: str | None = None,
    timeout: float = 60.0,
    failures: list[str] | None = None,
) -> ProbeResult | None:
    """Run the probe in ``python`` (default: ours); ``None`` when the project cannot be imported.

    Why it failed goes to ``failures`` as one line: the exception and the project file/line it
    points at, never the traceback.
    """
    # No bytecode: importing the project must leave no __pycache__ in the user's tree.
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=settings_module, PYTHONDONTWRITEBYTECODE="1")
    try:
        proc = subprocess.run(
            [python or sys.executable, "-c", _SCRIPT, str(root)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        if failures is not None:
            failures.append(f"--probe could not run the project's interpreter: {exc}")
        return None
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("TENANTFIX-PROBE ")), None)
    if proc.returncode != 0 or line is None:
        if failures is not None:
            from tenantfix.tracebacks import summarize

            failure = summarize(proc.stderr + proc.stdout, root)
            failures.append(
                "--probe: Django could not load the project, so the static reading was used: "
                + failure.describe()
            )
        return None
    data = json.loads(line.partition(" ")[2])
    apps = tuple(
        ProbedApp(
            label=a["label"],
            name=a["name"],
            config_path=None
            if a["config_path"] == "django.apps.config.AppConfig"
            else a["config_path"],
            path=a["path"],
        )
        for a in data["apps"]
    )
    plan = tuple((k[0], k[1]) for k in data["plan"]) if data["plan"] is not None else None
    values = next(
        (ln for ln in proc.stdout.splitlines() if ln.startswith("TENANTFIX-SETTINGS ")), None
    )
    settings = json.loads(values.partition(" ")[2]) if values else None
    return ProbeResult(apps=apps, plan=plan, error=data["error"], settings=settings)
