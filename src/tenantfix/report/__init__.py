"""Render findings for people (``text``), programs (``json``), code scanning (``sarif``) and
GitHub Actions annotations (``github``) and GitLab's Code Quality widget (``gitlab``).

Each format lives in its own module and is imported only when asked for, so ``check`` pays
only for the format it prints.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Protocol

from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.plan import Diagnostic

__all__ = ["FORMATS", "render"]

FORMATS: dict[str, str] = {
    "text": "tenantfix.report.text",
    "json": "tenantfix.report.json_format",
    "sarif": "tenantfix.report.sarif",
    "github": "tenantfix.report.github",
    "gitlab": "tenantfix.report.gitlab",
}


class _Renderer(Protocol):
    def __call__(
        self,
        diagnostics: Sequence[Diagnostic],
        *,
        root: str,
        graph_source: str,
        tool_version: str,
        color: bool,
    ) -> str: ...


def render(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    *,
    root: str,
    graph_source: str = "static",
    tool_version: str,
    color: bool = False,
    packages: Mapping[str, object] | None = None,
) -> str:
    """Return the findings rendered in ``fmt`` (one of :data:`FORMATS`), ending in a newline.

    ``root`` is the project directory the diagnostics' paths are relative to; ``graph_source``
    says whether the project graph was read statically or probed ("static"/"probe");
    ``color`` adds ANSI colours to ``text`` (the caller decides: a TTY and no ``NO_COLOR``);
    ``packages`` (where installed apps were found) goes into ``json`` only.
    """
    module_name = FORMATS.get(fmt)
    if module_name is None:
        raise TenantfixError(
            f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}", ExitCode.USAGE
        )
    if fmt == "json" and packages is not None:
        from tenantfix.report.json_format import render as render_json

        return render_json(
            diagnostics,
            root=root,
            graph_source=graph_source,
            tool_version=tool_version,
            packages=packages,
        )
    renderer: _Renderer = importlib.import_module(module_name).render
    return renderer(
        diagnostics, root=root, graph_source=graph_source, tool_version=tool_version, color=color
    )
