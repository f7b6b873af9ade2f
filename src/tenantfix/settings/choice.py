"""Lazy run-time alternatives: a value that is one thing in some configurations, another in others.

``os.environ.get("DEBUG", "0")`` is ``"0"`` when the variable is unset and unknown when it is
set. Reading it does not fork the evaluation: only a statement that needs to *decide* on it
(``if``, ``==``, list items read by a rule) does, through :func:`force`. That keeps the number
of configurations down to the facts the app settings really depend on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from tenantfix.graph.model import Location
from tenantfix.settings.configurations import Condition, ForkNeeded, SettingsRaise, World
from tenantfix.settings.values import Choice, Mapping_, Seq, Str, Unknown, Value

Outcome = Value | SettingsRaise


def env_choice(
    var: str,
    unset: Outcome,
    location: Location,
    *,
    source: str = "environment variable",
    read: Callable[[str], Value] | None = None,
    when_set: Value | None = None,
) -> Choice:
    """An environment read: ``unset`` when the variable is absent, unknown when it is set
    (or ``when_set``); ``read`` turns a real value into what the settings get."""
    key = f"env:{var}"
    return Choice(
        key,
        (
            (Condition(key, "unset", f"{source} `{var}` is unset"), unset),
            (
                Condition(key, "set", f"{source} `{var}` is set"),
                when_set
                if when_set is not None
                else Unknown(f"`{var}` comes from the environment", location),
            ),
        ),
        location,
        read or (lambda text: Str(text, location)),
    )


def force(world: World, value: Value) -> Value:
    """The value in ``world``'s configuration; forks (ForkNeeded) if the choice is not made."""
    while isinstance(value, Choice):
        if world.environ is not None and value.key.startswith("env:"):
            var = value.key[4:]
            if var in world.environ:
                known = value.read(world.environ[var]) if value.read else None
                value = known if known is not None else value.alternatives[1][1]  # type: ignore[assignment]
                continue
            chosen: str | None = "unset"
        else:
            chosen = world.choice(value.key)
        if chosen is None:
            raise ForkNeeded(tuple(cond for cond, _ in value.alternatives))
        outcome = next(o for cond, o in value.alternatives if cond.choice == chosen)
        if isinstance(outcome, SettingsRaise):
            raise outcome
        value = outcome
    return value


def force_deep(world: World, value: Value) -> Value:
    """:func:`force` through list items and dict values too (what rules read)."""
    value = force(world, value)
    if isinstance(value, Seq):
        items = tuple(force_deep(world, i) for i in value.items)
        return value if items == value.items else replace(value, items=items)
    if isinstance(value, Mapping_):
        pairs = tuple((k, force_deep(world, v)) for k, v in value.items)
        return value if pairs == value.items else replace(value, items=pairs)
    return value
