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
    VisitorBasedCodemodCommand,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "CODEMODS",
    "CodemodContext",
    "CodemodResult",
    "SkipFile",
    "TenantCodemod",
    "load_codemods",
    "register",
    "run_codemod",
    "run_codemods",
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
    failed_step: int | None = None  # run_codemods: the index of the step that skipped/failed


def run_codemod(
    name: str, code: str, args: Mapping[str, object], filename: str = ""
) -> CodemodResult:
    """Run a registered codemod on source text; never raises for a bad file."""
    return run_codemods([(name, args)], code, filename=filename)


def run_codemods(
    steps: Sequence[tuple[str, Mapping[str, object]]], code: str, filename: str = ""
) -> CodemodResult:
    """Run several codemods on one file, in order, on one parsed tree; never raises for a bad file.

    The file is parsed once and printed once, whatever the number of steps (a settings module
    of megabytes took minutes when each fix parsed, deep-copied and printed it again). The first
    step that skips or fails stops the run: ``failed_step`` is its index and ``code`` the input.
    A KeyboardInterrupt is not caught (libcst's ``transform_module`` turns it into an "exit").
    """
    codemods = load_codemods()
    try:
        module = cst.parse_module(code)
    except Exception as exc:  # ParserSyntaxError, or a file libcst's tokenizer rejects
        return CodemodResult(code, False, error=_describe(exc), failed_step=0)
    warnings: list[str] = []
    for index, (name, args) in enumerate(steps):
        cls = codemods.get(name)
        if cls is None:
            return CodemodResult(code, False, error=f"unknown codemod {name!r}", failed_step=index)
        context = CodemodContext(filename=filename or None)
        try:
            transform = cls(context, **args)
            module = _transform(transform, module)
        except SkipFile as exc:
            return CodemodResult(code, False, skipped=str(exc), failed_step=index)
        except Exception as exc:  # a codemod bug must not become a traceback for the user
            return CodemodResult(code, False, error=_describe(exc), failed_step=index)
        warnings.extend(transform.context.warnings)
    new = module.code
    return CodemodResult(new, new != code, warnings=tuple(warnings))


def _transform(transform: TenantCodemod, module: cst.Module) -> cst.Module:
    if transform.get_inherited_dependencies() or transform.should_allow_multiple_passes():
        # Metadata (scopes, positions) is computed on a deep copy, as libcst does it.
        return transform.transform_module(module)
    # No metadata: the deep copy of the whole tree that libcst makes for it buys nothing.
    return transform.transform_module_impl(module)


def _describe(error: Exception) -> str:
    where = f" (line {error.raw_line})" if isinstance(error, cst.ParserSyntaxError) else ""
    return f"{type(error).__name__}: {error}{where}"
