"""Read a URLconf module with ``ast``: does it serve Django's admin or login views?

Found: ``admin.site.urls`` (any ``<x>.site.urls`` where ``<x>`` is ``django.contrib.admin``),
``include("django.contrib.auth.urls")`` / ``include("allauth.urls")``, and any name imported from
``django.contrib.auth.views`` (``LoginView``, ``auth_views.LoginView.as_view()``). An
``include("<module>")`` of a module in the project is read too (once). Modules that are not in
the project's source are left unread: their routes are unknown, never "none".
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from tenantfix.discover import module_file
from tenantfix.graph.model import Location, UrlConf, UrlRoute
from tenantfix.graph.read_models import ImportMap

_AUTH_INCLUDES = {"django.contrib.auth.urls": "auth", "allauth.urls": "auth"}
_AUTH_VIEWS = "django.contrib.auth.views"


def read_urlconfs(root: Path, modules: Iterable[str]) -> tuple[UrlConf, ...]:
    """One :class:`UrlConf` per distinct module name, in the order given."""
    found: dict[str, UrlConf] = {}
    for module in modules:
        if module not in found:
            found[module] = _read(root, module)
    return tuple(found.values())


def _read(root: Path, module: str) -> UrlConf:
    top = module_file(root, module)
    if top is None:
        return UrlConf(module, None)
    routes: list[UrlRoute] = []
    todo = [(module, top)]
    seen = {module}
    while todo:
        name, path = todo.pop(0)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        imports = ImportMap.of(tree, name, path.name == "__init__.py")
        for node in ast.walk(tree):
            route = _route(node, imports, rel)
            if route is not None:
                routes.append(route)
            included = _included_module(node)
            if included and included not in seen and included not in _AUTH_INCLUDES:
                seen.add(included)
                file = module_file(root, included)
                if file is not None:
                    todo.append((included, file))
    return UrlConf(module, top.relative_to(root).as_posix(), tuple(routes))


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _included_module(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and _dotted(node.func).rpartition(".")[2] == "include"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _route(node: ast.AST, imports: ImportMap, rel: str) -> UrlRoute | None:
    included = _included_module(node)
    if included in _AUTH_INCLUDES:
        assert isinstance(node, ast.Call)
        return UrlRoute("auth", f'include("{included}")', Location(rel, node.lineno))
    if not isinstance(node, (ast.Attribute, ast.Name)) or not isinstance(node.ctx, ast.Load):
        return None
    dotted = _dotted(node)
    if not dotted:
        return None
    qualified = imports.qualify(dotted) or ""
    if dotted.endswith(".site.urls") and qualified.startswith("django.contrib.admin."):
        return UrlRoute("admin", dotted, Location(rel, node.lineno))
    if qualified.startswith(_AUTH_VIEWS + ".") and qualified.count(".") == 4:
        return UrlRoute("auth", dotted, Location(rel, node.lineno))
    return None
