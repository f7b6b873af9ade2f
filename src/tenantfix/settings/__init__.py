"""Settings read statically over every configuration they can produce.

:func:`resolve_configurations` evaluates the settings module (never importing it) and returns
one :class:`Configuration` per distinct set of values the rules care about, each with the
run-time conditions that lead to it. :func:`resolve_settings` is the first configuration, for
callers that need one (repair-db, the makemigrations scope).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tenantfix.discover import ProjectLocation
from tenantfix.errors import SettingsError
from tenantfix.graph.model import ProjectSettings
from tenantfix.settings.configurations import Condition, ForkNeeded, World
from tenantfix.settings.evaluate import RAISED, Evaluator
from tenantfix.settings.extract import extract
from tenantfix.settings.values import Const

__all__ = ["Configuration", "Resolution", "resolve_configurations", "resolve_settings"]


@dataclass(frozen=True, slots=True)
class Configuration:
    """One set of settings values and the run-time conditions under which it holds.

    ``conditions`` lists alternatives: each is a set of assumptions that all lead to these
    values (identical configurations are merged). ``()`` alone means "always".
    """

    settings: ProjectSettings
    conditions: tuple[tuple[Condition, ...], ...]

    @property
    def common_conditions(self) -> tuple[Condition, ...]:
        """The assumptions every path to this configuration made."""
        if not self.conditions:
            return ()
        first, *rest = self.conditions
        return tuple(c for c in first if all(c in other for other in rest))

    def describe(self) -> str:
        """``when `DEBUG` is true (proj/settings.py:38)``; empty when nothing is assumed."""
        common = self.common_conditions
        return "when " + " and ".join(c.text for c in common) if common else ""


@dataclass(frozen=True, slots=True)
class Resolution:
    """Every configuration of one settings module, plus what the evaluation could not keep."""

    module: str
    configurations: tuple[Configuration, ...]
    files: tuple[str, ...]
    collapsed: bool = False  # more configurations than the bound: differing names are unknown
    dropped: tuple[str, ...] = ()  # configurations in which the settings raise (cannot start)


def resolve_configurations(
    project: ProjectLocation, environ: Mapping[str, str] | None = None
) -> Resolution:
    """Evaluate ``project``'s settings module over every configuration it can produce.

    With ``environ`` the environment is known (``--probe``: the one the project's interpreter
    runs in): variables are read, not forked on, which leaves the configurations of this
    environment only.
    """
    evaluator = Evaluator(project, environ)
    worlds = evaluator.run_module(project.settings_module, project.settings_path, {})
    path = project.rel(project.settings_path)
    files = tuple(evaluator.files)
    found: dict[ProjectSettings, list[tuple[Condition, ...]]] = {}
    dropped: list[str] = []
    pending = list(reversed(worlds))
    while pending:
        world = pending.pop()
        raised = world.namespace.get(RAISED)
        if raised is not None:
            assert isinstance(raised, Const)
            error = raised.value.error  # type: ignore[attr-defined]
            dropped.append(_dropped_text(world, error.kind, error.reason, str(error.location)))
            continue
        try:
            settings = extract(world, project.settings_module, path, files)
        except ForkNeeded as fork:
            pending.extend(world.assuming(option) for option in reversed(fork.options))
            continue
        except Exception as exc:
            kind = getattr(exc, "kind", type(exc).__name__)
            where = getattr(exc, "location", path)
            dropped.append(_dropped_text(world, kind, str(exc), str(where)))
            continue
        found.setdefault(settings, []).append(world.conditions)
    if not found:
        causes = list(dict.fromkeys(d.partition(" when ")[0] for d in dropped))
        detail = "; ".join(causes[:3]) if causes else "no configuration"
        raise SettingsError(
            f"{path}: the settings raise an exception in every configuration tenantfix can "
            f"see ({detail}); Django could not start with them either"
        )
    configurations = tuple(
        Configuration(settings, tuple(dict.fromkeys(conds))) for settings, conds in found.items()
    )
    return Resolution(
        module=project.settings_module,
        configurations=configurations,
        files=files,
        collapsed=evaluator.collapsed,
        dropped=tuple(dropped),
    )


def _dropped_text(world: World, kind: str, reason: str, where: str) -> str:
    when = " and ".join(c.text for c in world.conditions) or "always"
    return f"{kind} at {where} ({reason}) when {when}"


def resolve_settings(project: ProjectLocation) -> ProjectSettings:
    """The first configuration's settings (callers that work on one configuration)."""
    return resolve_configurations(project).configurations[0].settings
