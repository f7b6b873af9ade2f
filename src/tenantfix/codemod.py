"""Public codemod API: the base class, the registry and the runner.

A codemod edits one file. It is a libcst ``VisitorBasedCodemodCommand`` subclass that takes
its parameters as keyword arguments, registered under its module's short name
(``add_app_to_list``). The built-in catalogue lives in the ``tenantfix_codemods`` package and
is found through the ``tenantfix.codemods`` entry point group, so the engine never imports it
statically and third-party packs register the same way.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

import libcst as cst
from libcst.codemod import (
    CodemodContext,
    SkipFile,
    TransformFailure,
    TransformSkip,
    TransformSuccess,
    VisitorBasedCodemodCommand,
    transform_module,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CODEMODS",
    "CodemodContext",
    "CodemodResult",
    "SkipFile",
    "TenantCodemod",
    "load_codemods",
    "register",
    "run_codemod",
]


class TenantCodemod(VisitorBasedCodemodCommand):
    """Base of every tenantfix codemod.

    Subclasses set ``DESCRIPTION`` and take their parameters as keyword-only constructor
    arguments; they raise ``SkipFile(reason)`` when they cannot rewrite safely, and never guess.
    """

    DESCRIPTION = "tenantfix codemod"

    def __init__(self, context: CodemodContext, **kwargs: Any) -> None:
        super().__init__(context)


T = TypeVar("T", bound=type[TenantCodemod])

CODEMODS: dict[str, type[TenantCodemod]] = {}


def register(cls: T) -> T:
    """Register a codemod under its module's short name; a duplicate name is an error."""
    name = cls.__module__.rpartition(".")[2]
    if name in CODEMODS and CODEMODS[name] is not cls:
        raise RuntimeError(f"codemod {name!r} registered twice ({CODEMODS[name]!r}, {cls!r})")
    CODEMODS[name] = cls
    return cls


def load_codemods() -> dict[str, type[TenantCodemod]]:
    """Import every package of the ``tenantfix.codemods`` entry point group (idempotent)."""
    for ep in entry_points(group="tenantfix.codemods"):
        package = ep.load()
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
    return CODEMODS


@dataclass(frozen=True, slots=True)
class CodemodResult:
    """The outcome of one codemod on one file: new code, or the reason it was skipped/failed."""

    code: str
    changed: bool
    skipped: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()


def run_codemod(
    name: str, code: str, args: Mapping[str, object], filename: str = ""
) -> CodemodResult:
    """Run a registered codemod on source text; never raises for a bad file."""
    cls = load_codemods().get(name)
    if cls is None:
        return CodemodResult(code, False, error=f"unknown codemod {name!r}")
    context = CodemodContext(filename=filename or None)
    try:
        transform = cls(context, **args)
    except SkipFile as exc:
        return CodemodResult(code, False, skipped=str(exc))
    result = transform_module(transform, code)
    if isinstance(result, TransformSuccess):
        return CodemodResult(
            result.code, result.code != code, warnings=tuple(result.warning_messages)
        )
    if isinstance(result, TransformSkip):
        return CodemodResult(
            code, False, skipped=result.skip_description or str(result.skip_reason)
        )
    if isinstance(result, TransformFailure):
        error = result.error
        where = ""
        if isinstance(error, cst.ParserSyntaxError):
            where = f" (line {error.raw_line})"
        return CodemodResult(code, False, error=f"{type(error).__name__}: {error}{where}")
    return CodemodResult(code, False, error="transform exited")
