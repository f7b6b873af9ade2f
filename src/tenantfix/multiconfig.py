"""Run the rules in every configuration of the settings and merge their verdicts.

A finding keeps its severity only when it holds in every configuration and every
configuration could be judged (no setting the rule reads was unknown there). A finding that
holds in some configurations is a warning naming them ("when `DEBUG` is true
(proj/settings.py:38)"). A rule whose settings are unknown in a configuration does not run
there: tenantfix says so in one note per unknown setting instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tenantfix.graph.build import app_entries
from tenantfix.graph.model import AppList, ProjectGraph, ProjectSettings, UnknownSetting
from tenantfix.plan import Diagnostic

if TYPE_CHECKING:  # the settings evaluator is not needed to judge (tenantfix.django imports this)
    from tenantfix.settings import Configuration, Resolution


@dataclass(frozen=True, slots=True)
class UnknownNote:
    """A setting tenantfix could not read in some configuration, and the rules it held back."""

    setting: UnknownSetting
    codes: tuple[str, ...]
    module: str
    names: tuple[str, ...] = ()  # every setting this one unknown value made unknown

    def text(self) -> str:
        every = self.names or (self.setting.name,)
        names = every[0] if len(every) == 1 else f"{', '.join(every[:-1])} and {every[-1]}"
        # the reason often ends with the location the note starts with: say it once
        reason = self.setting.reason.removesuffix(f" ({self.setting.location})")
        return (
            f"{self.setting.location}: cannot read {names} statically "
            f"({reason}); the rules that read {'them' if len(self.names) > 1 else 'it'} "
            f"({_ranges(self.codes)}) did not judge that configuration. "
            "`tenantfix check --probe` (or `probe = true` under [tool.tenantfix]) asks the "
            "project's interpreter for the real value."
        )


def _ranges(codes: tuple[str, ...]) -> str:
    """``TF001, TF002, TF003`` → ``TF001-TF003``: a note stays one readable line."""
    numbers = sorted(int(c[2:]) for c in codes)
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"TF{start:03}" if start == prev else f"TF{start:03}-TF{prev:03}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def union_settings(resolutions: Sequence[Resolution]) -> ProjectSettings:
    """The first configuration's settings with INSTALLED_APPS widened to every app any
    configuration installs: the graph is read once for all of them."""
    first = resolutions[0].configurations[0].settings
    seen: dict[str, object] = {}
    for resolution in resolutions:
        for configuration in resolution.configurations:
            for entry in app_entries(configuration.settings):
                seen.setdefault(entry.value, entry)
    installed = AppList(
        name="INSTALLED_APPS",
        entries=tuple(seen.values()),  # type: ignore[arg-type]
        origin=None,
        derived=True,
    )
    return replace(first, installed_apps=installed)


def urlconf_modules(resolutions: Sequence[Resolution]) -> list[str]:
    """Every URLconf module (PUBLIC_SCHEMA_URLCONF, ROOT_URLCONF) a configuration names."""
    return [
        value.value
        for resolution in resolutions
        for configuration in resolution.configurations
        for value in (
            configuration.settings.public_schema_urlconf,
            configuration.settings.root_urlconf,
        )
        if value is not None
    ]


def restrict(graph: ProjectGraph, settings: ProjectSettings) -> ProjectGraph:
    """The graph of one configuration: its settings and only the apps it installs."""
    wanted = {e.value for e in app_entries(settings)}
    apps = tuple(a for a in graph.apps if a.list_values() & wanted)
    unresolved = tuple(e for e in graph.unresolved_apps if e.value in wanted)
    if settings == graph.settings and len(apps) == len(graph.apps):
        return graph
    return ProjectGraph(
        root=graph.root,
        settings=settings,
        apps=apps,
        unresolved_apps=unresolved,
        source=graph.source,
        packages=graph.packages,
        urlconfs=graph.urlconfs,
    )


@dataclass(frozen=True, slots=True)
class Verdicts:
    diagnostics: tuple[Diagnostic, ...]
    notes: tuple[UnknownNote, ...]
    not_tenant: tuple[str, ...] = ()  # settings modules that do not use django-tenants at all


_TENANT_PACKAGES = ("django_tenants", "tenant_schemas")
_TENANT_LISTS = ("SHARED_APPS", "TENANT_APPS", "TENANT_TYPES", "HAS_MULTI_TYPE_TENANTS")


def uses_tenants(settings: ProjectSettings) -> bool:
    """Does this configuration use django-tenants (or django-tenant-schemas) at all?

    A project with neither app list nor the package installed is not ours to judge: every
    app would otherwise be "in neither list".
    """
    if settings.shared_apps or settings.tenant_apps or settings.has_multi_type_tenants:
        return True
    if any(settings.is_unknown(name) for name in _TENANT_LISTS):
        return True
    values = {e.value for e in app_entries(settings)}
    return any(v == p or v.startswith(p + ".") for v in values for p in _TENANT_PACKAGES)


def judge(
    graph: ProjectGraph,
    resolutions: Sequence[Resolution],
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> Verdicts:
    """Every selected rule over every configuration of every settings module, merged."""
    from tenantfix.checks import selected_checks

    checks = selected_checks(tuple(select), tuple(ignore))
    several_modules = len(resolutions) > 1
    merged: list[tuple[Diagnostic, str]] = []
    notes: dict[tuple[str, str, str], UnknownNote] = {}
    not_tenant: list[str] = []
    for resolution in resolutions:
        configs = tuple(c for c in resolution.configurations if uses_tenants(c.settings))
        if not configs:
            not_tenant.append(resolution.module)
            continue
        found: dict[tuple[str, str, str], tuple[Diagnostic, list[Configuration]]] = {}
        held_back: dict[str, list[Configuration]] = {}
        for configuration in configs:
            view = restrict(graph, configuration.settings)
            for check in checks:
                blocked = [u for u in configuration.settings.unknown if u.name in check.reads]
                if blocked:
                    held_back.setdefault(check.code, []).append(configuration)
                    for unknown in blocked:
                        key = (resolution.module, unknown.reason, str(unknown.location))
                        previous = notes.get(key)
                        codes = tuple(sorted({*(previous.codes if previous else ()), check.code}))
                        names = tuple(
                            dict.fromkeys((*(previous.names if previous else ()), unknown.name))
                        )
                        notes[key] = UnknownNote(unknown, codes, resolution.module, names)
                    continue
                for diagnostic in check.run(view):
                    ident = (diagnostic.code, str(diagnostic.location), diagnostic.message)
                    if ident not in found:
                        found[ident] = (diagnostic, [])
                    found[ident][1].append(configuration)
        for diagnostic, where in found.values():
            diagnostic = _fix_holds_everywhere(diagnostic, where)
            qualified = _qualified(diagnostic, where, configs, held_back.get(diagnostic.code, []))
            merged.append((qualified, resolution.module))
    return Verdicts(
        _named_modules(merged, several_modules), tuple(notes.values()), tuple(not_tenant)
    )


def _named_modules(
    merged: list[tuple[Diagnostic, str]], several_modules: bool
) -> tuple[Diagnostic, ...]:
    """One finding per place and text, naming every settings module it holds in: the same
    line of a base module imported by local.py and production.py is one finding, not two."""
    modules: dict[tuple[str, str, str], list[str]] = {}
    first: dict[tuple[str, str, str], Diagnostic] = {}
    for diagnostic, module in merged:
        key = (diagnostic.code, str(diagnostic.location), diagnostic.message)
        first.setdefault(key, diagnostic)
        if module not in modules.setdefault(key, []):
            modules[key].append(module)
    out = []
    for key, diagnostic in first.items():
        if several_modules:
            suffix = f" (settings {', '.join(modules[key])})"
            diagnostic = replace(
                diagnostic,
                message=diagnostic.message + suffix,
                scope=diagnostic.scope + suffix,
            )
        out.append(diagnostic)
    return tuple(sorted(out, key=lambda d: (d.code, d.location)))


_LIST_CODEMODS = {"add_app_to_list", "remove_app_from_list", "move_app_first_in_list"}


def _fix_holds_everywhere(diagnostic: Diagnostic, where: list[Configuration]) -> Diagnostic:
    """A list edit finds its literal by name; if the configurations where the finding holds
    build that list from different literals, one edit cannot fix them all: no automatic fix
    (the finding says why) rather than a fix that holds in some configurations only."""
    if len(where) < 2 or not any(f.name in _LIST_CODEMODS for f in diagnostic.fixes):
        return diagnostic
    for fix in diagnostic.fixes:
        if fix.name not in _LIST_CODEMODS:
            continue
        name = dict(fix.args).get("list_name", "")
        origins = {
            str(lst.origin)
            for c in where
            for lst in _lists_named(c.settings, name)
            if lst.origin is not None
        }
        if len(origins) > 1:
            places = ", ".join(sorted(origins))
            return replace(
                diagnostic,
                fixes=(),
                fix_summary=(
                    f"{diagnostic.fix_summary} — by hand: {name} is built from different "
                    f"literals depending on the configuration ({places}), so one automatic "
                    "edit would fix only some of them"
                ),
            )
    return diagnostic


def _lists_named(settings: ProjectSettings, name: str) -> list[AppList]:
    lists = [settings.shared_apps, settings.tenant_apps, settings.installed_apps]
    lists += [lst for _, lst in settings.tenant_types]
    return [lst for lst in lists if lst is not None and name in (lst.name, lst.origin_name)]


def _qualified(
    diagnostic: Diagnostic,
    where: list[Configuration],
    configs: Sequence[Configuration],
    held_back: list[Configuration],
) -> Diagnostic:
    everywhere = len(where) == len(configs) and not held_back
    if everywhere:
        return diagnostic
    if len(where) == len(configs) - len(held_back) and where:
        scope = (
            "in every configuration tenantfix could read; in the others a setting it reads is "
            "only known at run time"
        )
    else:
        described = [c.describe() for c in where]
        scope = (
            "only " + " or ".join(d for d in described if d)
            if all(described)
            else "only in some configurations of the settings"
        )
    text = f" ({scope})"
    return replace(diagnostic, message=diagnostic.message + text, severity="warning", scope=text)


def decide_with_probe(
    resolution: Resolution, here: Resolution, probed: dict[str, object] | None
) -> Resolution:
    """``--probe``: decide what static reading left unknown.

    ``here`` is the settings evaluated with this environment's variables (the environment the
    probe ran in); what is still unknown there is filled with the values Django loaded.
    Configurations without unknowns stay as they are (other deployments); those with
    unknowns give way to this environment's configurations, the only ones the probe saw.
    """
    decided: list[Configuration] = [c for c in resolution.configurations if not c.settings.unknown]
    for configuration in here.configurations:
        settings = configuration.settings
        changes: dict[str, Any] = {}
        still: list[UnknownSetting] = []
        for unknown in settings.unknown:
            value = _probed_value(unknown, probed) if probed is not None else _UNDECIDED
            if value is _UNDECIDED:
                still.append(unknown)
            else:
                changes.update(value)  # type: ignore[call-overload]
        fixed = replace(settings, unknown=tuple(still), **changes)
        if all(c.settings != fixed for c in decided):
            decided.append(replace(configuration, settings=fixed))
    return replace(resolution, configurations=tuple(decided))


_UNDECIDED = object()
_LIST_FIELDS = {
    "SHARED_APPS": "shared_apps",
    "TENANT_APPS": "tenant_apps",
    "INSTALLED_APPS": "installed_apps",
}
_SCALAR_FIELDS = {
    "AUTH_USER_MODEL": "auth_user_model",
    "TENANT_MODEL": "tenant_model",
    "TENANT_DOMAIN_MODEL": "tenant_domain_model",
}


def _probed_value(unknown: UnknownSetting, probed: dict[str, object]) -> object:
    from tenantfix.graph.model import AppListEntry, SettingValue

    name, where = unknown.name, unknown.location

    def app_list(values: object, list_name: str) -> AppList | None:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return None
        entries = tuple(AppListEntry(v, where) for v in values)
        return AppList(name=list_name, entries=entries, origin=None, derived=True)

    if name in _LIST_FIELDS:
        if name not in probed:
            return {_LIST_FIELDS[name]: None}
        found = app_list(probed[name], name)
        return _UNDECIDED if found is None else {_LIST_FIELDS[name]: found}
    if name in _SCALAR_FIELDS:
        value = probed.get(name)
        if name not in probed:
            return {_SCALAR_FIELDS[name]: None}
        return (
            {_SCALAR_FIELDS[name]: SettingValue(value, where)}
            if isinstance(value, str)
            else _UNDECIDED
        )
    if name == "DATABASE_ROUTERS":
        routers = probed.get(name)
        if name not in probed:
            return {"database_routers": None}
        if isinstance(routers, list) and all(isinstance(r, str) for r in routers):
            return {"database_routers": tuple(SettingValue(r, where) for r in routers)}
        return _UNDECIDED
    if name == "DATABASES":
        engine = probed.get("ENGINE")
        return {"database_engine": SettingValue(engine, where) if isinstance(engine, str) else None}
    if name in {"TENANT_TYPES", "HAS_MULTI_TYPE_TENANTS"}:
        multi = probed.get("HAS_MULTI_TYPE_TENANTS") is True
        types = probed.get("TENANT_TYPES")
        if not multi:
            return {"has_multi_type_tenants": False, "tenant_types": ()}
        if not isinstance(types, dict):
            return _UNDECIDED
        lists = []
        for type_name, spec in types.items():
            apps = spec.get("APPS") if isinstance(spec, dict) else None
            found = app_list(apps, "TENANT_TYPES")
            if found is None:
                return _UNDECIDED
            lists.append((type_name, replace(found, key_path=(type_name, "APPS"))))
        return {"has_multi_type_tenants": True, "tenant_types": tuple(lists)}
    return _UNDECIDED
