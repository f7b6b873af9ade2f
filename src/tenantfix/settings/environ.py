"""Environment readers: ``os.environ``/``os.getenv``, django-environ, python-decouple, dj-database-url.

Each read becomes a :class:`~tenantfix.settings.values.Choice`: the default (or the exception
the library raises) when the variable is unset, an unknown value when it is set. Casts are
applied to defaults the way the libraries apply them, so ``env.bool("DEBUG", default=False)``
and ``config("APPS", default="a,b", cast=Csv())`` give the values Django would see.
"""

from __future__ import annotations

from tenantfix.graph.model import Location
from tenantfix.settings.choice import env_choice
from tenantfix.settings.configurations import SettingsRaise
from tenantfix.settings.values import (
    Const,
    EnvReader,
    Mapping_,
    ModuleRef,
    Seq,
    Str,
    Unknown,
    Value,
    from_python,
)

# What a database URL's scheme means for ENGINE (dj-database-url and django-environ agree).
_SCHEME_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "psql": "django.db.backends.postgresql",
    "postgis": "django.contrib.gis.db.backends.postgis",
    "sqlite": "django.db.backends.sqlite3",
    "mysql": "django.db.backends.mysql",
    "mysql2": "django.db.backends.mysql",
    "oracle": "django.db.backends.oracle",
}
_TRUE = {"1", "true", "yes", "y", "on", "t"}
_FALSE = {"0", "false", "no", "n", "off", "f", ""}

Args = list[Value]
Kwargs = dict[str, Value]


def call_module_function(
    dotted: str, args: Args, kwargs: Kwargs, location: Location
) -> Value | None:
    """A call of an imported function we know; None when we do not know it."""
    if dotted in {"os.environ.get", "os.getenv", "os.environ.setdefault"}:
        var = _name(args, kwargs, "key")
        if var is None:
            return None
        default = args[1] if len(args) > 1 else kwargs.get("default", Const(None, location))
        return env_choice(var, default, location)
    if dotted == "os.environ":
        return None
    if dotted in {"environ.Env", "environ.environ.Env"}:
        return EnvReader("django-environ", tuple(kwargs.items()), location)
    if dotted in {"decouple.config", "decouple.AutoConfig", "decouple.Config"}:
        if dotted != "decouple.config":
            return EnvReader("decouple", (), location)
        return call_env_reader(EnvReader("decouple", (), location), None, args, kwargs, location)
    if dotted in {"decouple.Csv"}:
        return Const(("csv", _csv_options(kwargs)), location)
    if dotted in {"dj_database_url.config", "dj_database_url.parse"}:
        return _database_url(dotted, args, kwargs, location)
    if dotted.endswith((".read_env", ".Env.read_env")):
        return Const(None, location)
    return None


def environ_subscript(key: Value, location: Location) -> Value | None:
    """``os.environ["X"]``: KeyError when unset (Django fails to start), unknown when set."""
    if not isinstance(key, Str):
        return None
    return env_choice(key.value, SettingsRaise("KeyError", f"{key.value!r}", location), location)


def call_env_reader(
    reader: EnvReader, method: str | None, args: Args, kwargs: Kwargs, location: Location
) -> Value:
    """``env("X", default=...)``, ``env.list(...)``, ``env.db(...)``, decouple ``config(...)``."""
    var = _name(args, kwargs, "var")
    if var is None:
        return Unknown(
            "an environment read whose variable name is only known at run time", location
        )
    if method in {"db", "db_url", "database_url"}:
        return _env_db(var, args, kwargs, location)
    if method is not None and method.startswith(("read_env", "cache", "email", "search")):
        return Unknown(f"`env.{method}(...)` is not an app setting", location)
    cast: Value | str | None = method if method not in {None, "__call__"} else None
    if "cast" in kwargs:
        cast = kwargs["cast"]
    default: Value | None = kwargs.get("default")
    if default is None and len(args) > 1 and reader.kind == "django-environ":
        # env("X", cast, default) positional form is rare; the schema default is common
        default = args[2] if len(args) > 2 else None
    if default is None:
        schema = dict(reader.defaults).get(var)
        if isinstance(schema, Seq) and len(schema.items) == 2:
            cast = cast or _cast_name(schema.items[0])
            default = schema.items[1]
    unset: Value | SettingsRaise
    if default is None:
        error = "ImproperlyConfigured" if reader.kind == "django-environ" else "UndefinedValueError"
        unset = SettingsRaise(error, f"Set the {var} environment variable", location)
    else:
        unset = _cast(default, cast, location)
    source = "environment variable" if reader.kind == "django-environ" else "setting (decouple)"
    return env_choice(
        var,
        unset,
        location,
        source=source,
        read=lambda text: _cast(Str(text, location), cast, location),
    )


def _env_db(var: str, args: Args, kwargs: Kwargs, location: Location) -> Value:
    if var.startswith(("postgres", "sqlite", "mysql", "postgis")):  # env.db("postgres://...")
        return _url_to_databases(Str(var, location), kwargs, location)
    default = kwargs.get("default")
    unset: Value | SettingsRaise
    if default is None:
        unset = SettingsRaise(
            "ImproperlyConfigured", f"Set the {var} environment variable", location
        )
    else:
        unset = _url_to_databases(default, kwargs, location)
    return _url_choice(var, unset, kwargs, location)


def _database_url(dotted: str, args: Args, kwargs: Kwargs, location: Location) -> Value:
    if dotted.endswith(".parse"):
        url = args[0] if args else kwargs.get("url")
        return _url_to_databases(url, kwargs, location)
    var_value = kwargs.get("env", Str("DATABASE_URL", location))
    var = var_value.value if isinstance(var_value, Str) else "DATABASE_URL"
    default = kwargs.get("default")
    unset: Value | SettingsRaise = (
        _url_to_databases(default, kwargs, location)
        if default is not None
        else Mapping_((), location)  # dj-database-url returns {} without a URL
    )
    return _url_choice(var, unset, kwargs, location)


def _url_choice(
    var: str, unset: Value | SettingsRaise, kwargs: Kwargs, location: Location
) -> Value:
    """A database URL read from ``var``: ``unset`` without it, ENGINE from the URL with it."""
    return env_choice(
        var,
        unset,
        location,
        when_set=_url_to_databases(None, kwargs, location),
        read=lambda text: _url_to_databases(Str(text, location), kwargs, location),
    )


def _url_to_databases(url: Value | None, kwargs: Kwargs, location: Location) -> Value:
    """The dict a database URL becomes; ENGINE from ``engine=`` or the URL's scheme."""
    engine: Value = kwargs.get("engine", Unknown("ENGINE comes from a database URL", location))
    if "engine" not in kwargs and isinstance(url, Str):
        scheme = url.value.partition("://")[0].lower()
        known = _SCHEME_ENGINES.get(scheme)
        engine = (
            Str(known, url.location)
            if known
            else Unknown(f"unknown URL scheme {scheme!r}", location)
        )
    return Mapping_((("ENGINE", engine),), location)


def _name(args: Args, kwargs: Kwargs, keyword: str) -> str | None:
    first = args[0] if args else kwargs.get(keyword)
    return first.value if isinstance(first, Str) else None


def _cast_name(value: Value) -> str | None:
    if isinstance(value, ModuleRef):
        return value.dotted.rpartition(".")[2]
    if isinstance(value, Seq) and value.kind == "list":
        return "list"
    return None


def _csv_options(kwargs: Kwargs) -> tuple[str, str]:
    delimiter = kwargs.get("delimiter")
    strip = kwargs.get("strip")
    return (
        delimiter.value if isinstance(delimiter, Str) else ",",
        strip.value if isinstance(strip, Str) else " \t\r\n",
    )


def _cast(default: Value, cast: Value | str | None, location: Location) -> Value:
    """Apply a library cast to a default value, as the library does for a string default."""
    name = cast if isinstance(cast, str) else _cast_name(cast) if cast is not None else None
    if isinstance(cast, Const) and isinstance(cast.value, tuple) and cast.value[:1] == ("csv",):
        if isinstance(default, Str):
            delimiter, strip = cast.value[1]
            parts = [p.strip(strip) for p in default.value.split(delimiter)]
            return from_python([p for p in parts if p], default.location)
        return default
    if not isinstance(default, Str):
        return default  # non-string defaults are returned as they are by both libraries
    text = default.value
    if name in {"bool"}:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return Const(True, default.location)
        if lowered in _FALSE:
            return Const(False, default.location)
        return Unknown(f"{text!r} is not a boolean", location)
    if name in {"list", "tuple"}:
        parts = [p.strip() for p in text.split(",") if p.strip()] if text else []
        return from_python(parts if name == "list" else tuple(parts), default.location)
    if name in {"int"}:
        try:
            return Const(int(text), default.location)
        except ValueError:
            return Unknown(f"{text!r} is not an integer", location)
    if name in {None, "str"}:
        return default
    return Unknown(f"a default cast with {name}", location)
