"""Check registry: one module per rule, named ``tf###_<problem_slug>``.

Each module creates ``check = Check(__name__, ...)`` and decorates one function
``(graph) -> Iterable[Diagnostic]`` with ``@check.register``. Importing the package's modules
registers them; the code (``TF001``) and the slug come from the module name so they cannot drift.

Selection follows ruff: without ``--select`` the *default selection* runs (every rule created
with ``default=True``, the rules whose findings break migrate_schemas or start-up, or name a
fragile set-up); opt-in rules (``default=False``, style points such as TF013) run only when a
``--select`` code or prefix names them (``--select TF013``, or ``--select TF`` for every rule).
``--select`` replaces the default selection; ``--ignore`` is applied last.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from tenantfix.graph.model import ProjectGraph
from tenantfix.plan import Diagnostic, Safety, Severity

CheckFunc = Callable[[ProjectGraph], Iterable[Diagnostic]]

# The settings most rules read. In a configuration where one of them is only known at run time,
# such a rule does not run (its verdict would rest on a guess); tenantfix says so in a note.
APP_SETTINGS = frozenset(
    {
        "SHARED_APPS",
        "TENANT_APPS",
        "INSTALLED_APPS",
        "TENANT_TYPES",
        "HAS_MULTI_TYPE_TENANTS",
        "AUTH_USER_MODEL",
        "TENANT_MODEL",
        "TENANT_DOMAIN_MODEL",
    }
)


@dataclass(slots=True)
class Check:
    """A rule: its code, slug, documentation (the module docstring) and its function."""

    module: str
    severity: Severity = "error"
    safety: Safety = "safe"
    default: bool = True  # in the default selection; False: opt-in through --select
    # every level its findings can have, when more than ``severity`` (its highest)
    also: tuple[Severity, ...] = ()
    reads: frozenset[str] = APP_SETTINGS  # settings whose unknown value keeps the rule silent
    func: CheckFunc | None = field(default=None, repr=False)

    @property
    def code(self) -> str:
        return self.module.rpartition(".")[2].partition("_")[0].upper()

    @property
    def slug(self) -> str:
        return self.module.rpartition(".")[2].partition("_")[2].replace("_", "-")

    @property
    def doc(self) -> str:
        return (sys.modules[self.module].__doc__ or "").strip()

    @property
    def levels(self) -> str:
        """``error``, or ``error/warning`` for a rule whose findings can be either."""
        return "/".join(dict.fromkeys((self.severity, *self.also)))

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else self.slug

    def register(self, func: CheckFunc) -> CheckFunc:
        if self.code in CHECKS and CHECKS[self.code] is not self:
            raise RuntimeError(f"check {self.code} registered twice")
        self.func = func
        CHECKS[self.code] = self
        return func

    def run(self, graph: ProjectGraph) -> Iterator[Diagnostic]:
        assert self.func is not None, f"{self.code} has no registered function"
        yield from self.func(graph)


CHECKS: dict[str, Check] = {}


def load_checks() -> dict[str, Check]:
    """Import every ``tf###_*`` module of this package (idempotent); codes sorted."""
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        if info.name.rpartition(".")[2].startswith("tf"):
            importlib.import_module(info.name)
    return dict(sorted(CHECKS.items()))


def selected_checks(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Check]:
    """The checks to run, by prefix as ruff: no ``select`` = the default selection;
    ``select`` replaces it and also reaches opt-in rules (``TF00`` selects TF001-TF009)."""
    selected = tuple(s.upper() for s in select)
    ignored = tuple(s.upper() for s in ignore)
    chosen: list[Check] = []
    for code, chk in load_checks().items():
        if selected:
            if not code.startswith(selected):
                continue
        elif not chk.default:
            continue
        if ignored and code.startswith(ignored):
            continue
        chosen.append(chk)
    return chosen


def run_checks(
    graph: ProjectGraph,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> list[Diagnostic]:
    """Run the selected checks (:func:`selected_checks`), findings sorted by code and place."""
    found: list[Diagnostic] = []
    for chk in selected_checks(select, ignore):
        found.extend(chk.run(graph))
    return sorted(found, key=lambda d: (d.code, d.location))
