"""Switch DATABASES['default']['ENGINE'] from plain PostgreSQL to django-tenants' backend.

Why: django-tenants switches schemas through its database wrapper; with Django's own
``django.db.backends.postgresql`` every tenant request fails with
``'DatabaseWrapper' object has no attribute 'set_schema'`` and ``migrate_schemas`` cannot set
the search path (TF010). Only the plain PostgreSQL backends are rewritten, in the string's own
quotes, in the literal ``DATABASES = {...}`` or a ``DATABASES['default']['ENGINE'] = ...`` line.
Fix safety: safe (``django_tenants.postgresql_backend`` wraps the same psycopg backend). Any
other ENGINE (PostGIS, a custom wrapper, a value read from the environment) is left alone with
SkipFile: a custom backend has to subclass django-tenants' wrapper, or be named in
``ORIGINAL_BACKEND``, and that is the developer's call.
"""

from __future__ import annotations

import libcst as cst

from tenantfix.codemod import CodemodContext, SkipFile, TenantCodemod, register
from tenantfix_codemods import _list_edit

PLAIN_POSTGRESQL = frozenset(
    {
        "django.db.backends.postgresql",
        "django.db.backends.postgresql_psycopg2",
        "django.db.backends.postgresql.base",
    }
)


@register
class SetTenantDbEngine(TenantCodemod):
    DESCRIPTION = __doc__.splitlines()[0] if __doc__ else ""

    def __init__(
        self,
        context: CodemodContext,
        *,
        engine: str = "django_tenants.postgresql_backend",
        database: str = "default",
    ) -> None:
        super().__init__(context)
        self.engine = engine
        self.database = database

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        # The last module-level statement that sets the ENGINE is the one Django sees.
        for i in range(len(body) - 1, -1, -1):
            line = body[i]
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for j in range(len(line.body) - 1, -1, -1):
                stmt = line.body[j]
                new = self._rewrite(stmt)
                if new is None:
                    continue
                if new is stmt:
                    return updated_node
                statements = list(line.body)
                statements[j] = new
                body[i] = line.with_changes(body=statements)
                return updated_node.with_changes(body=body)
        raise SkipFile(f"no literal DATABASES[{self.database!r}]['ENGINE'] in this file to rewrite")

    def _rewrite(self, stmt: cst.BaseSmallStatement) -> cst.BaseSmallStatement | None:
        """The statement with the new ENGINE, itself if already right, None if unrelated."""
        if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0].target
            if _subscript_path(target) == ("DATABASES", self.database, "ENGINE"):
                return stmt.with_changes(value=self._new_value(stmt.value))
            if _subscript_path(target) == ("DATABASES", self.database) and isinstance(
                stmt.value, cst.Dict
            ):
                return stmt.with_changes(value=self._in_alias(stmt.value))
        if (
            isinstance(stmt, cst.Assign | cst.AnnAssign)
            and _list_edit.assigned_name(stmt) == "DATABASES"
            and stmt.value is not None
        ):
            if not isinstance(stmt.value, cst.Dict):
                raise SkipFile("DATABASES is not a dict literal; set ENGINE by hand")
            alias = _entry(stmt.value, self.database)
            if alias is None:
                raise SkipFile(f"DATABASES has no literal {self.database!r} entry")
            if not isinstance(alias.value, cst.Dict):
                raise SkipFile(
                    f"DATABASES[{self.database!r}] is built at run time (dj-database-url?); "
                    f"pass engine={self.engine!r} there"
                )
            new_alias = self._in_alias(alias.value)
            return stmt.with_changes(
                value=stmt.value.with_changes(
                    elements=[
                        e.with_changes(value=new_alias) if e is alias else e
                        for e in stmt.value.elements
                    ]
                )
            )
        return None

    def _in_alias(self, alias: cst.Dict) -> cst.Dict:
        engine = _entry(alias, "ENGINE")
        if engine is None:
            raise SkipFile(f"DATABASES[{self.database!r}] has no ENGINE")
        new_value = self._new_value(engine.value)
        if new_value is engine.value:
            return alias
        return alias.with_changes(
            elements=[e.with_changes(value=new_value) if e is engine else e for e in alias.elements]
        )

    def _new_value(self, value: cst.BaseExpression) -> cst.BaseExpression:
        current = _list_edit.string_value(value)
        if current is None:
            raise SkipFile("ENGINE is not a string literal (read from the environment?)")
        if current == self.engine:
            return value
        if current not in PLAIN_POSTGRESQL:
            raise SkipFile(
                f"ENGINE is {current!r}, not Django's plain PostgreSQL backend: make it subclass "
                f"{self.engine}.base.DatabaseWrapper, or set ENGINE to {self.engine!r} and "
                f"ORIGINAL_BACKEND to {current!r}"
            )
        assert isinstance(value, cst.SimpleString)
        return value.with_changes(value=f"{value.prefix}{value.quote}{self.engine}{value.quote}")


def _entry(node: cst.Dict, key: str) -> cst.DictElement | None:
    return next(
        (
            e
            for e in reversed(node.elements)
            if isinstance(e, cst.DictElement) and _list_edit.string_value(e.key) == key
        ),
        None,
    )


def _subscript_path(node: cst.BaseExpression) -> tuple[str, ...] | None:
    keys: list[str] = []
    while isinstance(node, cst.Subscript):
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return None
        key = _list_edit.string_value(node.slice[0].slice.value)
        if key is None:
            return None
        keys.insert(0, key)
        node = node.value
    return (node.value, *keys) if isinstance(node, cst.Name) and keys else None
