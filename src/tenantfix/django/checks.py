"""The system checks: tenantfix's rules over the loaded project, as Django check messages.

Each finding becomes ``tenantfix.E<nnn>`` (an error: ``manage.py check`` and every command
that runs the checks first, ``migrate_schemas`` included, stop before touching the database) or
``tenantfix.W<nnn>`` (a warning, printed), where ``<nnn>`` is the rule number: ``TF001`` ↔
``tenantfix.E001``. ``msg`` is the finding, where it is and what breaks; ``hint`` is the fix;
``obj`` is the model or app config it is about, when one is. A rule whose findings can be
either level (TF008) keeps its number under both letters.

The checks must never break a project: if the analysis itself fails, one warning
(``tenantfix.W000``) carries the exception's one-line summary, never a traceback.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tenantfix.graph.model import ProjectGraph
from tenantfix.plan import Diagnostic

ANALYSIS_FAILED = "tenantfix.W000"


def check_id(diagnostic: Diagnostic) -> str:
    """``TF001`` (error) → ``tenantfix.E001``; a warning → ``tenantfix.W001``."""
    letter = "E" if diagnostic.severity == "error" else "W"
    return f"tenantfix.{letter}{diagnostic.code[2:]}"


def analyse_loaded() -> tuple[ProjectGraph, list[Diagnostic]]:
    """Graph and findings (suppression comments applied) of the project Django loaded."""
    # The parse allocates a great many short-lived objects in a process that already holds
    # the whole project, so each cyclic collection walks Django's heap too. Reference counting
    # frees the AST nodes; pausing the cycle collector for this call saved ~20 % of its CPU on
    # the 500-app benchmark. Restored whatever happens.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _analyse()
    finally:
        if was_enabled:
            gc.enable()


def _analyse() -> tuple[ProjectGraph, list[Diagnostic]]:
    """Inside Django there is exactly one configuration, the loaded settings, with nothing
    unknown: :func:`tenantfix.multiconfig.judge` then reduces to running the selected rules
    once, dropping duplicates and sorting by code and place, which is done here directly so
    that the settings evaluator (a third of the import cost) is never imported."""
    from tenantfix.checks import selected_checks
    from tenantfix.django.collect import collect
    from tenantfix.django.graph import graph_from_collected
    from tenantfix.multiconfig import uses_tenants
    from tenantfix.suppress import split_suppressed

    graph = graph_from_collected(collect())
    if not uses_tenants(graph.settings):
        return graph, []  # not a django-tenants project: nothing to judge (as the CLI)
    found: dict[tuple[str, str, str], Diagnostic] = {}
    for check in selected_checks():
        for diagnostic in check.run(graph):
            key = (diagnostic.code, str(diagnostic.location), diagnostic.message)
            found.setdefault(key, diagnostic)
    ordered = sorted(found.values(), key=lambda d: (d.code, d.location))
    kept, _suppressed = split_suppressed(ordered, Path(graph.root))
    return graph, kept


def tenantfix_checks(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """The check function ``ready()`` registers (tag ``tenantfix``)."""
    from django.core import checks

    try:
        graph, diagnostics = analyse_loaded()
        messages = [_message(d, graph) for d in diagnostics]
    except Exception as exc:
        # Never a traceback in manage.py: the project must still start.
        summary = f"{type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")
        return [
            checks.Warning(
                f"tenantfix could not analyse this project ({summary[:300]})",
                hint="Fix the error above, or run `tenantfix check` on the project for details.",
                id=ANALYSIS_FAILED,
            )
        ]
    if app_configs is not None:
        wanted = {c.label for c in app_configs}
        messages = [m for m in messages if _label_of(m.obj) in (None, *wanted)]
    return messages


def _message(diagnostic: Diagnostic, graph: ProjectGraph) -> Any:
    from django.core import checks

    breaks = diagnostic.prediction.sentence() if diagnostic.prediction else ""
    why = " ".join(diagnostic.why.split())
    parts = [f"{diagnostic.message} ({diagnostic.location})."]
    if breaks:
        parts.append(f"What breaks: {breaks}.")
    if why:
        parts.append(why)
    hint = diagnostic.fix_summary.strip()
    level = checks.Error if diagnostic.severity == "error" else checks.Warning
    return level(
        " ".join(parts), hint=hint or None, obj=_object(diagnostic, graph), id=check_id(diagnostic)
    )


_QUOTED = re.compile(r"'([\w.]+)'")


def _object(diagnostic: Diagnostic, graph: ProjectGraph) -> Any:
    """The model at the finding's place, else the app whose files hold it, else the first
    app the message names (findings in settings name the app they are about)."""
    from django.apps import apps as registry

    location = diagnostic.location
    for app in graph.apps:
        for model in app.models:
            if model.location == location:
                try:
                    return registry.get_model(app.label, model.name)
                except LookupError:
                    return registry.get_app_config(app.label)
    for app in graph.apps:
        if app.local and app.path and location.path.startswith(app.path.rstrip("/") + "/"):
            return registry.get_app_config(app.label)
    for value in _QUOTED.findall(diagnostic.message):
        app_found = graph.app_for_entry(value) or graph.app(value)
        if app_found is not None:
            return registry.get_app_config(app_found.label)
    return None


def _label_of(obj: object) -> str | None:
    if obj is None:
        return None
    meta = getattr(obj, "_meta", None)
    label = getattr(meta, "app_label", None) or getattr(obj, "label", None)
    return label if isinstance(label, str) else None
