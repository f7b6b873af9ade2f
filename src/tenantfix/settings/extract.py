"""Read the settings tenantfix's rules use out of one configuration's names, three-valued.

A setting is known (a value), unknown (an :class:`UnknownSetting` naming file, line and why) or
absent (``None``: everything was read and it is not set). Never "absent" for "did not look".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenantfix.graph.model import (
    AppList,
    AppListEntry,
    Location,
    ProjectSettings,
    SettingValue,
    UnknownSetting,
)
from tenantfix.settings.choice import force, force_deep
from tenantfix.settings.configurations import World
from tenantfix.settings.evaluate import WILDCARD
from tenantfix.settings.values import Const, Mapping_, Seq, Str, Unknown, Value, first_unknown

APP_LIST_NAMES = ("SHARED_APPS", "TENANT_APPS", "INSTALLED_APPS")
SCALAR_NAMES = (
    "AUTH_USER_MODEL",
    "TENANT_MODEL",
    "TENANT_DOMAIN_MODEL",
    "PUBLIC_SCHEMA_URLCONF",
    "ROOT_URLCONF",
    "SESSION_ENGINE",
)


@dataclass(slots=True)
class _Reader:
    world: World
    fallback: Location
    unknown: list[UnknownSetting] = field(default_factory=list)

    def value(self, name: str, *, deep: bool = True) -> Value | None:
        """The setting's value; ``deep=False`` decides only the top level, so reading one key
        of DATABASES does not fork on every environment variable of its other keys."""
        ns = self.world.namespace
        if name in ns:
            return (force_deep if deep else force)(self.world, ns[name])
        if WILDCARD in ns:
            return ns[WILDCARD]
        return None

    def key(self, mapping: Value | None, key: str) -> Value | None:
        if not isinstance(mapping, Mapping_):
            return None
        found = mapping.get(key)
        return None if found is None else force(self.world, found)

    def mark(self, name: str, reason: str, location: Location) -> None:
        if not any(u.name == name for u in self.unknown):
            self.unknown.append(UnknownSetting(name, reason, location))

    def app_list(self, name: str, value: Value, key_path: tuple[str, ...] = ()) -> AppList | None:
        label = name + "".join(f"[{k!r}]" for k in key_path)
        if isinstance(value, Unknown):
            self.mark(name, value.reason, value.location)
            return None
        if not isinstance(value, Seq):
            self.mark(
                name, f"{label} is not a list or tuple", getattr(value, "location", self.fallback)
            )
            return None
        entries: list[AppListEntry] = []
        complete = True
        for item in value.items:
            if isinstance(item, Str):
                entries.append(AppListEntry(item.value, item.location))
                continue
            complete = False
            reason = item.reason if isinstance(item, Unknown) else "an entry that is not a string"
            self.mark(
                name, f"an entry of {label}: {reason}", getattr(item, "location", value.location)
            )
        return AppList(
            name=name,
            entries=tuple(entries),
            origin=value.origin,
            origin_name=value.origin_name,
            assigned_at=value.assigned_at,
            key_path=key_path,
            derived=value.derived,
            ordered=value.ordered,
            complete=complete,
        )

    def scalar(self, name: str) -> SettingValue | None:
        value = self.value(name)
        if value is None:
            return None
        if isinstance(value, Str):
            return SettingValue(value.value, value.location)
        if isinstance(value, Unknown):
            self.mark(name, value.reason, value.location)
        else:
            self.mark(name, f"{name} is not a string", getattr(value, "location", self.fallback))
        return None


def extract(world: World, module: str, path: str, files: tuple[str, ...]) -> ProjectSettings:
    """The configuration's ProjectSettings; raises ForkNeeded when a lazy value must be decided."""
    reader = _Reader(world, Location(path, 1))
    lists: dict[str, AppList | None] = {}
    for name in APP_LIST_NAMES:
        value = reader.value(name)
        lists[name] = None if value is None else reader.app_list(name, value)

    multi = reader.value("HAS_MULTI_TYPE_TENANTS")
    has_multi = isinstance(multi, Const) and multi.value is True
    if isinstance(multi, Unknown):
        reader.mark("HAS_MULTI_TYPE_TENANTS", multi.reason, multi.location)
    tenant_types: list[tuple[str, AppList]] = []
    if has_multi:
        types_value = reader.value("TENANT_TYPES", deep=False)
        if not isinstance(types_value, Mapping_):
            where = getattr(types_value, "location", reader.fallback)
            reason = (
                types_value.reason
                if isinstance(types_value, Unknown)
                else ("HAS_MULTI_TYPE_TENANTS is set but TENANT_TYPES is not a dict")
            )
            reader.mark("TENANT_TYPES", reason, where)
        else:
            for type_name, raw_spec in types_value.items:
                spec = force(world, raw_spec)
                apps = reader.key(spec, "APPS")
                if apps is not None:
                    apps = force_deep(world, apps)
                if apps is None:
                    if not isinstance(spec, Mapping_) or first_unknown(spec) is not None:
                        reader.mark(
                            "TENANT_TYPES",
                            f"TENANT_TYPES[{type_name!r}] is only known at run time",
                            types_value.location,
                        )
                    continue
                found = reader.app_list("TENANT_TYPES", apps, (type_name, "APPS"))
                if found is not None:
                    tenant_types.append((type_name, found))

    engine: SettingValue | None = None
    databases = reader.value("DATABASES", deep=False)
    if databases is not None:
        default = reader.key(databases, "default")
        raw = reader.key(default, "ENGINE")
        if isinstance(raw, Str):
            engine = SettingValue(raw.value, raw.location)
        else:
            cause = next((v for v in (raw, default, databases) if isinstance(v, Unknown)), None)
            if cause is not None:
                reader.mark("DATABASES", cause.reason, cause.location)
            elif (
                isinstance(databases, Mapping_)
                and default is None
                and any(isinstance(v, Unknown) for _, v in databases.items)
            ):
                reader.mark(
                    "DATABASES",
                    "DATABASES['default'] is only known at run time",
                    databases.location,
                )

    routers: tuple[SettingValue, ...] | None = None
    routers_value = reader.value("DATABASE_ROUTERS")
    if isinstance(routers_value, Seq):
        routers = tuple(
            SettingValue(i.value, i.location) for i in routers_value.items if isinstance(i, Str)
        )
        odd = next((i for i in routers_value.items if not isinstance(i, Str)), None)
        if odd is not None:
            # a router given as a class object, or read from the environment
            reason = (
                odd.reason if isinstance(odd, Unknown) else "a router that is not a dotted path"
            )
            reader.mark(
                "DATABASE_ROUTERS", reason, getattr(odd, "location", routers_value.location)
            )
    elif routers_value is not None:
        reason = routers_value.reason if isinstance(routers_value, Unknown) else "not a list"
        reader.mark("DATABASE_ROUTERS", reason, getattr(routers_value, "location", reader.fallback))

    scalars = {name: reader.scalar(name) for name in SCALAR_NAMES}
    all_values = [e.value for lst in lists.values() if lst for e in lst.entries] + [
        e.value for _, lst in tenant_types for e in lst.entries
    ]
    return ProjectSettings(
        module=module,
        path=path,
        files=files,
        shared_apps=lists["SHARED_APPS"],
        tenant_apps=lists["TENANT_APPS"],
        installed_apps=lists["INSTALLED_APPS"],
        tenant_types=tuple(tenant_types),
        has_multi_type_tenants=has_multi,
        auth_user_model=scalars["AUTH_USER_MODEL"],
        tenant_model=scalars["TENANT_MODEL"],
        tenant_domain_model=scalars["TENANT_DOMAIN_MODEL"],
        database_routers=routers,
        database_engine=engine,
        public_schema_urlconf=scalars["PUBLIC_SCHEMA_URLCONF"],
        root_urlconf=scalars["ROOT_URLCONF"],
        session_engine=scalars["SESSION_ENGINE"],
        legacy_tenant_schemas="tenant_schemas" in all_values,
        unknown=tuple(reader.unknown),
    )
