"""Ask the project's own interpreter for its exact app registry and migration plan.

When the project's interpreter can import Django and the settings, a subprocess runs
:mod:`tenantfix.django.collect` (by path) after ``django.setup()``: the settings Django loaded,
every AppConfig (label, module, class path, directory) with the model and migration files it
imported, and the migration plan ``MigrationLoader`` gives an empty database (or the loader's
error). Nothing touches a database: the loader is built without a connection. The graph is then
built from that data by :mod:`tenantfix.django.graph`, exactly as the system checks build it. The
static graph stays the fallback; :func:`tenantfix.graph.build.build_graph` records which one was
used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BARE_APP_CONFIG = "django.apps.config.AppConfig"

# The same front end as the system checks (tenantfix.django): run by path, it imports nothing
# from tenantfix, so the project's interpreter needs neither tenantfix nor a recent Python.
COLLECTOR = Path(__file__).resolve().parent.parent / "django" / "collect.py"


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
    # everything tenantfix.django.collect read (None when a migration module did not import:
    # models and migrations are then read from the app directories, as statically)
    collected: dict[str, Any] | None = None


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
            [python or sys.executable, str(COLLECTOR), str(root)],
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
    lines = proc.stdout.splitlines()
    marked = {
        tag: json.loads(ln.partition(" ")[2])
        for ln in lines
        for tag in ("TENANTFIX-SETTINGS", "TENANTFIX-COLLECTED", "TENANTFIX-FAILED")
        if ln.startswith(tag + " ")
    }
    settings = marked.get("TENANTFIX-SETTINGS")
    if proc.returncode != 0 or "TENANTFIX-SETTINGS" not in marked:
        if failures is not None:
            from tenantfix.tracebacks import summarize

            failure = summarize(proc.stderr + proc.stdout, root)
            failures.append(
                "--probe: Django could not load the project, so the static reading was used: "
                + failure.describe()
            )
        return None
    data = marked.get("TENANTFIX-COLLECTED")
    collected = data
    if data is None:
        # the registry loaded but a migration module did not import: keep the registry, and
        # build_graph reads the apps' directories as it does statically
        data = marked.get("TENANTFIX-FAILED")
        if data is None:
            if failures is not None:
                failures.append("--probe: the project's interpreter printed no result")
            return None
        data = {**data, "plan": None}
    apps = tuple(
        ProbedApp(
            label=a["label"],
            name=a["name"],
            config_path=None if a["config_path"] == BARE_APP_CONFIG else a["config_path"],
            path=a["path"],
        )
        for a in data["apps"]
    )
    plan = tuple((k[0], k[1]) for k in data["plan"]) if data["plan"] is not None else None
    return ProbeResult(
        apps=apps, plan=plan, error=data["error"], settings=settings, collected=collected
    )
