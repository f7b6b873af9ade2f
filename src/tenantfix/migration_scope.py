"""Which INSTALLED_APPS entries Django needs to generate migrations for a few apps.

Generating ``app499``'s initial migration should not cost what the whole 500-app project costs.
Django needs: every framework/third-party app (few, and local models build on them), the target
apps, the local apps their relations point to (one level: further relations are stripped from
the comparison by the driver), and every local app that those apps' models modules import, since
a module-level import of an app that is not installed fails. The driver falls back to the whole
project if this guess is ever wrong, so it only decides speed, never the output.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path

from tenantfix.graph.model import App, ProjectGraph


def installed_for(graph: ProjectGraph, labels: Sequence[str]) -> list[str] | None:
    """The INSTALLED_APPS entries to load, in their order; None when it cannot be told."""
    installed = graph.settings.installed_apps
    if installed is None or not installed.ordered or graph.unresolved_apps:
        return None
    local = {a.label: a for a in graph.apps if a.local}
    keep = set(labels)
    for label in labels:
        app = local.get(label)
        if app is None:
            return None
        for model in app.models:
            for relation in model.relations:
                if relation.target:
                    keep.add(graph.resolve_model(relation.target).partition(".")[0])
    candidates = sorted(local.values(), key=lambda a: -len(a.name))  # longest module path first
    todo = [label for label in keep if label in local]
    seen: set[str] = set()
    while todo:
        label = todo.pop()
        if label in seen:
            continue
        seen.add(label)
        for imported in _imported_apps(Path(graph.root), local[label], candidates):
            if imported not in keep:
                keep.add(imported)
                todo.append(imported)
    entries: list[str] = []
    for entry in installed.entries:
        app = graph.app_for_entry(entry.value)
        if app is None or not app.local or app.label in keep:
            entries.append(entry.value)
    return entries


def _imported_apps(root: Path, app: App, candidates: list[App]) -> Iterator[str]:
    for module in set(_imports(root, app)):
        for other in candidates:
            if other is not app and (module == other.name or module.startswith(other.name + ".")):
                yield other.label
                break


def _imports(root: Path, app: App) -> Iterator[str]:
    if app.path is None:
        return
    directory = root / app.path
    files = (
        [directory / "models.py"]
        if (directory / "models.py").is_file()
        else sorted((directory / "models").rglob("*.py"))
    )
    for file in files:
        try:
            tree = ast.parse(file.read_bytes(), filename=str(file))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield node.module
            elif isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
