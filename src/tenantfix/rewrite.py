"""Apply every fix planned for one file: read it, run its codemods on one tree, report.

``compute_fixes`` calls :func:`rewrite_file` once per file. The codemods of one file share one
libcst parse and one print (see :func:`tenantfix.codemod.run_codemods`); the first that cannot
rewrite safely refuses the whole run, naming the file and the fix, and nothing is written.

Large modules (settings of megabytes: generated feature flags, translations, fixtures): libcst
builds several Python objects per token, so parsing alone takes tens of seconds. When every
codemod of the file works on module-level statements without scope metadata (the settings
codemods), the runs of top-level assignments to names no fix can concern (``FEATURE_0001 =
{...}``) are replaced by one placeholder line each, the codemods run on that small module, and
the placeholders are replaced by the original text, byte for byte. Any doubt (a placeholder
missing or repeated, a codemod that refuses) falls back to the whole module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.plan import Fix

if TYPE_CHECKING:
    from tenantfix.codemod import CodemodResult


@dataclass(frozen=True, slots=True)
class FileRewrite:
    """One file's text before and after its fixes (``changed`` False: the fixes were no-ops)."""

    path: str
    original: str
    new: str
    warnings: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.new != self.original


def rewrite_file(root: Path, rel: str, fixes: Sequence[Fix]) -> FileRewrite:
    """Run ``fixes`` (codemod fixes for ``root/rel``, in order) on the file's text."""
    from tenantfix.codemod import run_codemods

    try:
        # bytes decoded as they are: read_text() would turn CRLF line ends into LF
        original = (root / rel).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TenantfixError(
            f"{rel}: cannot read the file to fix it ({exc})", ExitCode.REFUSED
        ) from None
    steps = [(fix.name, dict(fix.args)) for fix in fixes]
    result = None
    if len(original) >= SPARSE_FROM_BYTES and not _needs_metadata(fix.name for fix in fixes):
        result = _run_sparse(steps, original, rel)
    if result is None:
        result = run_codemods(steps, original, filename=rel)
    if result.failed_step is not None:
        fix = fixes[result.failed_step]
        raise TenantfixError(
            f"{rel}: cannot {fix.description or fix.name} automatically: "
            f"{result.error or result.skipped}. Nothing was changed; edit the file by hand "
            "or run `tenantfix check` for the details.",
            ExitCode.REFUSED,
        )
    return FileRewrite(rel, original, result.code, tuple(f"{rel}: {w}" for w in result.warnings))


SPARSE_FROM_BYTES = 256_000
# Settings every settings codemod may read or edit, whatever its arguments say.
_SETTINGS_NAMES = frozenset(
    {
        "SHARED_APPS",
        "TENANT_APPS",
        "INSTALLED_APPS",
        "TENANT_TYPES",
        "HAS_MULTI_TYPE_TENANTS",
        "DATABASES",
        "DATABASE_ROUTERS",
        "AUTH_USER_MODEL",
        "TENANT_MODEL",
        "TENANT_DOMAIN_MODEL",
    }
)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _needs_metadata(names: Iterable[str]) -> bool:
    from tenantfix.codemod import load_codemods

    codemods = load_codemods()
    for name in names:
        cls = codemods.get(name)
        if cls is None or cls.get_inherited_dependencies():
            return True
    return False


def _run_sparse(
    steps: Sequence[tuple[str, Mapping[str, object]]], code: str, rel: str
) -> CodemodResult | None:
    """The codemods' result on ``code`` computed on its relevant statements only, or None."""
    from tenantfix.codemod import CodemodResult, run_codemods

    names = set(_SETTINGS_NAMES)
    for _, args in steps:
        for value in args.values():
            if isinstance(value, str):
                names.update(_IDENTIFIER.findall(value))
    reduced = _reduce(code, frozenset(names))
    if reduced is None:
        return None
    small, chunks = reduced
    result = run_codemods(steps, small, filename=rel)
    if result.failed_step is not None:
        return None  # the whole module decides how to report it
    restored = _restore(result.code, chunks)
    if restored is None:
        return None
    return CodemodResult(restored, restored != code, warnings=result.warnings)


def _reduce(code: str, names: frozenset[str]) -> tuple[str, dict[str, str]] | None:
    """``code`` with each run of inert top-level statements replaced by a placeholder line."""
    from tenantfix.pyast import parse_source

    try:
        tree = parse_source(code)  # the settings resolver parsed this very text already
    except (SyntaxError, ValueError):
        return None
    lines = code.splitlines(keepends=True)
    # (first line index, inert) per top-level statement; decorators start a definition
    starts: list[tuple[int, bool]] = []
    previous_end = 0
    for stmt in tree.body:
        decorators = getattr(stmt, "decorator_list", [])
        first = min([stmt.lineno, *(d.lineno for d in decorators)]) - 1
        inert = _inert(stmt, names)
        if starts and first < previous_end:  # `a = 1; B = 2` share a line: one statement
            starts[-1] = (starts[-1][0], starts[-1][1] and inert)
        else:
            starts.append((first, inert))
        previous_end = stmt.end_lineno or stmt.lineno
    out: list[str] = []
    chunks: dict[str, str] = {}
    head = starts[0][0] if starts else len(lines)
    out.extend(lines[:head])  # docstring and comments before the first statement
    i = 0
    while i < len(starts):
        first, inert = starts[i]
        j = i
        while inert and j + 1 < len(starts) and starts[j + 1][1]:
            j += 1
        end = starts[j + 1][0] if j + 1 < len(starts) else len(lines)
        text = "".join(lines[first:end])
        if inert and j > i:  # a single statement is not worth a placeholder
            key = f"__tenantfix_unchanged_{len(chunks)}__"
            if key in code:
                return None
            chunks[key] = text
            out.append(f"{key} = None\n")
        else:
            out.append(text)
        i = j + 1
    if not chunks:
        return None
    small = "".join(out)
    if small and not small.endswith(("\n", "\r")):
        small += "\n"  # the last chunk is restored with its own ending
    return small, chunks


def _inert(stmt: ast.stmt, names: frozenset[str]) -> bool:
    """An assignment to plain names none of which a codemod may read or edit."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        targets = [stmt.target]
    else:
        return False
    bound: list[str] = []
    for target in targets:
        if not isinstance(target, ast.Name):
            return False
        bound.append(target.id)
    return not any(name in names for name in bound)


def _restore(code: str, chunks: dict[str, str]) -> str | None:
    """Put each placeholder's original text back; None unless each is found exactly once."""
    out: list[str] = []
    seen: set[str] = set()
    lines = code.splitlines(keepends=True)
    for index, line in enumerate(lines):
        key = line.rstrip("\r\n").removesuffix(" = None")
        text = chunks.get(key)
        if text is None:
            out.append(line)
            continue
        if key in seen:
            return None
        seen.add(key)
        if index + 1 < len(lines) and not text.endswith(("\n", "\r")):
            text += "\n"
        out.append(text)
    return "".join(out) if seen == set(chunks) else None
