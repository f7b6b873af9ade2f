"""repair-db on the databases people really have: a first migrate that failed, and an app moved
between SHARED_APPS and TENANT_APPS after tenants with data exist. Real PostgreSQL, real
migrate_schemas, every row compared by content in every schema."""

from __future__ import annotations

import psycopg
import pytest
from support_dbstate import databases, dump, manage, tables
from support_git import FIXTURES, copy_project, git, init_repo
from test_repair import CREATE_TENANT_WITH_DATA, switch_to_fix
from typer.testing import CliRunner

from tenantfix.cli import app

SETTINGS = "shop_site/settings.py"

CREATE_TENANTS = """
from django_tenants.utils import schema_context
from customers.models import Client, Domain
from shop.models import Product
for schema, count in (("acme", 3), ("globex", 2)):
    client = Client(schema_name=schema, name=schema.title())
    client.save()  # auto_create_schema: migrates the new schema
    Domain.objects.create(domain=schema + ".localhost", tenant=client, is_primary=True)
    with schema_context(schema):
        for i in range(count):
            Product.objects.create(name=f"{schema} product {i}", price=i + 0.5)
print("ok")
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def shop_repo(tmp_path):
    """A small django-tenants project whose committed settings have `notes` in TENANT_APPS."""
    return init_repo(copy_project(FIXTURES / "moved_app_project", tmp_path / "shop"))


def notes_in(repo, where: str) -> None:
    """Rewrite the settings as the user had them before: notes in neither list or shared."""
    path = repo / SETTINGS
    text = path.read_text()
    text = text.replace('    "shop",\n    "notes",\n]', '    "shop",\n]')
    if where == "neither":  # installed, in no list: its records everywhere, its tables nowhere
        text += 'INSTALLED_APPS += ["notes"]\n'
    elif where == "shared":
        text = text.replace(
            '    "django.contrib.auth",\n]', '    "django.contrib.auth",\n    "notes",\n]'
        )
    path.write_text(text)


def restore_settings(repo) -> None:
    git(repo, "checkout", "--", SETTINGS)


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def tenants_with_data(repo, db) -> None:
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", CREATE_TENANTS))


def records(db, schema: str) -> set[tuple[str, str]]:
    with psycopg.connect(db.url) as conn:
        return set(conn.execute(f'SELECT app, name FROM "{schema}".django_migrations').fetchall())


def assert_rows_kept(before, after) -> None:
    """Every table of every schema is still there with every row it had (migrate may add rows:
    permissions, content types; migration records aside: `zero --fake` deletes them and
    migrate_schemas records them again)."""
    for key, rows in before.items():
        assert key in after, f"table {key} disappeared"
        if key[1] == "django_migrations":
            continue
        missing = rows - after[key]
        assert not missing, f"rows of {key} lost: {missing}"


def test_first_migrate_failed_without_tenant_table(shop_repo, pg_database):
    """contenttypes left out of SHARED_APPS: the first --shared fails at auth.0001_initial before
    django-tenants created its tenant table; public holds only the phantom contenttypes records."""
    db = pg_database
    path = shop_repo / SETTINGS
    path.write_text(
        path.read_text().replace(
            '    "django.contrib.contenttypes",\n    "django.contrib.auth"',
            '    "django.contrib.auth"',
            1,
        )
    )
    failed = manage(shop_repo, db, "migrate_schemas", "--shared")
    assert (
        failed.returncode != 0 and 'relation "django_content_type" does not exist' in failed.stderr
    )
    assert "customers_client" not in tables(db, "public")
    assert ("contenttypes", "0001_initial") in records(db, "public")
    restore_settings(shop_repo)  # the settings fix: contenttypes shared again

    plan = invoke("repair-db", str(shop_repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert (
        "First migrate failed: public has no customers_client table and there are no tenant "
        "schemas, so `migrate_schemas --shared` never completed on this database." in plan.stdout
    )
    assert (
        "TF012 public: contenttypes.0001_initial, contenttypes.0002_remove_content_type_name"
        in plan.stdout
    )
    assert (
        "1. python manage.py migrate_schemas --schema=public contenttypes zero --fake"
        in plan.stdout
    )
    assert "2. python manage.py migrate_schemas --shared" in plan.stdout

    executed = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 0, executed.output
    assert {"django_content_type", "customers_client", "auth_user"} <= tables(db, "public")
    ok(manage(shop_repo, db, "shell", "-c", CREATE_TENANTS))
    ok(manage(shop_repo, db, "migrate_schemas"))
    assert "notes_note" in tables(db, "acme")


def test_writeup_first_migrate_failure_repaired_and_row_kept(writeup_repo, pg_database):
    """The write-up: the first --shared fails at admin.0001_initial; the tenant app migrated
    before it, so its table exists without a row. A row added to auth_group survives."""
    db = pg_database
    failed = manage(writeup_repo, db, "migrate_schemas", "--shared")
    assert failed.returncode != 0 and 'relation "users_user" does not exist' in failed.stderr
    with psycopg.connect(db.url) as conn:
        conn.execute("INSERT INTO auth_group (name) VALUES ('auditors')")
    switch_to_fix(writeup_repo)
    before = dump(db)

    plan = invoke("repair-db", str(writeup_repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert "First migrate failed: public.tenants_tenant has no tenant rows" in plan.stdout
    assert "TF012 public: users.0001_initial recorded as applied" in plan.stdout
    assert dump(db) == before

    executed = invoke("repair-db", str(writeup_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 0, executed.output
    ok(manage(writeup_repo, db, "migrate_schemas", "--shared"))
    ok(manage(writeup_repo, db, "shell", "-c", CREATE_TENANT_WITH_DATA))
    ok(manage(writeup_repo, db, "migrate_schemas"))
    after = dump(db)
    assert_rows_kept(before, after)
    assert after[("public", "auth_group")] == before[("public", "auth_group")]
    assert any("auditors" in row for row in after[("public", "auth_group")])
    assert sum(after[("public", "users_user")].values()) == 2  # alice and bob, in public now


def test_app_added_to_tenant_apps_after_tenants_exist(shop_repo, pg_database):
    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    for schema in ("acme", "globex"):
        assert ("notes", "0002_note_pinned") in records(db, schema)
        assert "notes_note" not in tables(db, schema)
    restore_settings(shop_repo)  # notes added to TENANT_APPS
    again = manage(shop_repo, db, "migrate_schemas")
    ok(again)
    assert "notes_note" not in tables(db, "acme")  # "No migrations to apply": the trap
    before = dump(db)

    plan = invoke("repair-db", str(shop_repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    out = plan.stdout
    assert "public and 2 tenant schema(s) (acme, globex)" in out
    assert (
        "TF012 notes: phantom in 2 of 2 tenant schema(s) (acme, globex): notes.0001_initial, "
        "notes.0002_note_pinned recorded as applied, but none of its tables exist there "
        "(notes_label, notes_note)." in out
    )
    assert "First migrate failed" not in out
    assert (
        "TF012 public" not in out
    )  # notes is not migrated in public: its records there are bookkeeping
    assert (
        "1. python manage.py migrate_schemas --schema=<schema> notes zero --fake, for each of "
        "the 2 schemas above" in out
    )
    assert "(2 commands, one per schema; --verbose lists them)" in out
    assert "2. python manage.py migrate_schemas --tenant" in out
    assert dump(db) == before

    verbose = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--verbose")
    assert (
        "       python manage.py migrate_schemas --schema=acme notes zero --fake" in verbose.stdout
    )
    assert (
        "       python manage.py migrate_schemas --schema=globex notes zero --fake"
        in verbose.stdout
    )
    assert "      acme: notes.0001_initial, notes.0002_note_pinned" in verbose.stdout

    executed = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 0, executed.output
    assert (
        "[1/3] python manage.py migrate_schemas --schema=acme notes zero --fake" in executed.stderr
    )
    assert "Repaired: no phantom migration records remain." in executed.stdout
    after = dump(db)
    assert_rows_kept(before, after)
    for schema in ("acme", "globex"):
        assert {"notes_note", "notes_label"} <= tables(db, schema)
        assert records(db, schema) >= {("notes", "0001_initial"), ("notes", "0002_note_pinned")}
    assert sum(after[("acme", "shop_product")].values()) == 3
    assert sum(after[("globex", "shop_product")].values()) == 2
    create = "from django_tenants.utils import schema_context\nfrom notes.models import Note\nwith schema_context('acme'):\n    Note.objects.create(text='works', pinned=True)\n"
    ok(manage(shop_repo, db, "shell", "-c", create))
    assert invoke("repair-db", str(shop_repo), "--database-url", db.url).exit_code == 0


def test_shared_to_tenant_move_keeps_public_rows(shop_repo, pg_database):
    db = pg_database
    notes_in(shop_repo, "shared")
    tenants_with_data(shop_repo, db)
    ok(
        manage(
            shop_repo,
            db,
            "shell",
            "-c",
            "from notes.models import Note\nNote.objects.create(text='made in public')",
        )
    )
    restore_settings(shop_repo)  # notes moved SHARED -> TENANT
    before = dump(db)

    plan = invoke("repair-db", str(shop_repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert "TF012 notes: phantom in 2 of 2 tenant schema(s) (acme, globex)" in plan.stdout
    assert (
        "NOTE public: holds tables of 'notes': notes_label (0 rows), notes_note (1 row). The app "
        "is now tenant-only" in plan.stdout
    )
    # what the tenants see changes: today they read public's rows through search_path
    read = (
        "from django_tenants.utils import schema_context\nfrom notes.models import Note\n"
        "with schema_context('acme'):\n    print('notes seen:', Note.objects.count())\n"
    )
    seen = manage(shop_repo, db, "shell", "-c", read)
    assert "notes seen: 1" in seen.stdout, seen.stderr
    assert (
        "Until the repair, the tenant schemas have no notes tables of their own, so their "
        "queries read these public rows through search_path; after it they read their own "
        "tables, which start empty." in plan.stdout
    )

    executed = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 0, executed.output
    after = dump(db)
    assert_rows_kept(before, after)
    assert after[("public", "notes_note")] == before[("public", "notes_note")]
    assert sum(before[("public", "notes_note")].values()) == 1
    for schema in ("acme", "globex"):
        assert {"notes_note", "notes_label"} <= tables(db, schema)
    assert "notes seen: 0" in manage(shop_repo, db, "shell", "-c", read).stdout


def test_partial_tables_in_one_tenant_refuse_everything_and_orphans_are_left_alone(
    shop_repo, pg_database
):
    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    # a tenant deleted from the tenant table: django-tenants keeps its schema (auto_drop_schema)
    gone = (
        "from customers.models import Client\n"
        "c = Client(schema_name='initech', name='Initech'); c.save(); c.delete()\n"
    )
    ok(manage(shop_repo, db, "shell", "-c", gone))
    restore_settings(shop_repo)
    with psycopg.connect(db.url) as conn:  # someone created one of the tables by hand
        conn.execute("CREATE TABLE globex.notes_label (id bigserial PRIMARY KEY, name varchar(50))")
        conn.execute("INSERT INTO globex.notes_label (name) VALUES ('hand-made')")
    before = dump(db)

    refused = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--execute")
    assert refused.exit_code == 3, refused.output
    out = refused.stdout
    assert (
        "REFUSED globex: app 'notes': its tables partly exist in globex (present: notes_label; "
        "missing: notes_note)" in out
    )
    assert "TF012 notes: phantom in 1 of 2 tenant schema(s) (acme)" in out
    assert (
        "NOTE initech: has a django_migrations table but no row in public.customers_client "
        "(a deleted tenant's schema?); it records migrations whose tables are missing there: "
        "notes (notes.0001_initial, notes.0002_note_pinned). repair-db reports it and never "
        "touches it." in out
    )
    assert "Nothing will be run, in any schema" in out
    assert dump(db) == before  # acme was not repaired either

    with psycopg.connect(db.url) as conn:  # the user renames the hand-made table away
        conn.execute("ALTER TABLE globex.notes_label RENAME TO notes_label_old")
    before = dump(db)
    executed = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 0, executed.output
    assert "NOTE initech" in executed.stdout
    after = dump(db)
    assert_rows_kept(before, after)
    initech = {k: v for k, v in before.items() if k[0] == "initech"}
    assert initech and initech == {k: v for k, v in after.items() if k[0] == "initech"}
    assert "notes_note" not in tables(db, "initech")
    assert {"notes_note", "notes_label"} <= tables(db, "globex")


def test_verify_proves_on_a_clone_then_repairs(shop_repo, pg_server, pg_database):
    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    restore_settings(shop_repo)
    before, dbs = dump(db), databases(pg_server)

    # a live application holds a connection: no TEMPLATE clone, so pg_dump into a throwaway server
    with psycopg.connect(db.url):
        proved = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--verify")
    assert proved.exit_code == 1, proved.output
    assert "no TEMPLATE clone (other sessions are connected to" in proved.stderr
    assert "Proof on a copy made with pg_dump into a throwaway PostgreSQL" in proved.stdout
    assert "ok      python manage.py migrate_schemas --tenant" in proved.stdout
    assert "Proven: every command passed" in proved.stdout
    assert "Proven on a clone; nothing was changed" in proved.stderr
    assert dump(db) == before and databases(pg_server) == dbs

    executed = invoke(
        "repair-db", str(shop_repo), "--database-url", db.url, "--execute", "--verify"
    )
    assert executed.exit_code == 0, executed.output
    assert "Proof on a clone made with CREATE DATABASE tenantfix_clone_" in executed.stdout
    assert "Repaired: no phantom migration records remain." in executed.stdout
    assert databases(pg_server) == dbs  # the clone was dropped
    assert_rows_kept(before, dump(db))
    assert "notes_note" in tables(db, "globex")


def test_failing_plan_on_the_clone_leaves_the_database_untouched(shop_repo, pg_server, pg_database):
    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    restore_settings(shop_repo)
    with psycopg.connect(db.url) as conn:
        # a leftover composite type: CREATE TABLE notes_note collides with it in globex
        conn.execute("CREATE TYPE globex.notes_note AS (text text)")
    before, dbs = dump(db), databases(pg_server)

    verified = invoke(
        "repair-db", str(shop_repo), "--database-url", db.url, "--execute", "--verify"
    )
    assert verified.exit_code == 4, verified.output
    assert "FAILED  python manage.py migrate_schemas --tenant" in verified.stdout
    assert (
        'error at notes.0001_initial (schema globex): django.db.utils.ProgrammingError: relation "notes_note" already exists'
        in verified.stdout
    )
    assert "was not touched. Nothing was changed." in verified.stderr
    assert dump(db) == before and databases(pg_server) == dbs

    # without --verify the same plan stops at the same command and says what took effect
    executed = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 4, executed.output
    out = executed.stdout
    assert "The repair stopped at the first failing command." in out
    assert "  - acme: notes's migration records deleted (no table or row touched)" in out
    assert "  - globex: notes's migration records deleted (no table or row touched)" in out
    assert "error at notes.0001_initial (schema globex)" in out
    assert "Not run" not in out  # it stopped at the last command
    assert (
        "(the full output of `python manage.py migrate_schemas --tenant` is shown with --verbose)"
        in executed.stderr
    )
    assert "Traceback" not in executed.output
    assert_rows_kept(before, dump(db))


def _plan_for_many_tenants(count: int):
    from pathlib import Path

    from tenantfix.db.params import DatabaseParams
    from tenantfix.discover import ProjectLocation
    from tenantfix.repair import TENANTS, PhantomApp, RepairPlan, Shadow, _steps

    schemas = tuple(f"t{i:03d}" for i in range(count))
    phantoms = [PhantomApp(s, "notes", ("notes.0001_initial",), ("notes_note",)) for s in schemas]
    root = Path("/srv/shop")
    return RepairPlan(
        project=ProjectLocation(root, root / "manage.py", "shop_site.settings", root / "s.py"),
        database=DatabaseParams("db", 5432, "app", "secret", "shop"),
        state=TENANTS,
        tenant_table="customers_client",
        schemas=("public", *schemas),
        phantoms=tuple(phantoms),
        refusals=(),
        shadows=tuple(Shadow(s, "users", (("users_user", 2),), True) for s in schemas),
        orphans=(),
        steps=tuple(_steps(phantoms)),
    )


def test_plan_for_200_tenants_reads_as_one_line_per_app():
    plan = _plan_for_many_tenants(200)
    lines = plan.lines()
    text = "\n".join(lines)
    assert len(lines) < 15, text
    assert "public and 200 tenant schema(s) (t000, t001, t002, t003, t004 and 195 more)" in text
    assert (
        "TF012 notes: phantom in 200 of 200 tenant schema(s) (t000, t001, t002, t003, t004 and "
        "195 more): notes.0001_initial recorded as applied" in text
    )
    assert "(200 commands, one per schema; --verbose lists them)" in text
    assert (
        "NOTE 200 tenant schemas (t000, t001, t002, t003, t004 and 195 more) hold their own copy "
        "of the user model's tables (users_user; 400 rows in all; --verbose lists each)" in text
    )
    assert "secret" not in text
    assert len(plan.commands) == 201

    verbose = plan.lines(verbose=True)
    assert sum("migrate_schemas --schema=t" in line for line in verbose) == 200
    assert sum(line.startswith("NOTE t") for line in verbose) == 200
    assert "t199" in "\n".join(verbose)


def test_auth_added_to_tenant_apps_warns_that_tenants_stop_reading_public_users(
    shop_repo, pg_database
):
    """A real project's move (auth added to TENANT_APPS after tenants exist): tenants read
    public.auth_user through search_path until the repair, their own empty table after it."""
    db = pg_database
    tenants_with_data(shop_repo, db)
    ok(
        manage(
            shop_repo,
            db,
            "shell",
            "-c",
            "from django.contrib.auth.models import User\nUser.objects.create_user('admin')",
        )
    )
    path = shop_repo / SETTINGS
    path.write_text(
        path.read_text().replace('    "shop",\n', '    "django.contrib.auth",\n    "shop",\n', 1)
    )
    before = dump(db)

    plan = invoke("repair-db", str(shop_repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert "TF012 auth: phantom in 2 of 2 tenant schema(s) (acme, globex)" in plan.stdout
    assert (
        "NOTE until the repair, queries in the tenant schemas read public's auth tables through "
        "search_path (auth_group (0 rows), auth_permission (" in plan.stdout
    )
    assert "auth_user (1 row)" in plan.stdout

    executed = invoke("repair-db", str(shop_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 0, executed.output
    after = dump(db)
    assert_rows_kept(before, after)
    assert "auth_user" in tables(db, "acme")
    assert sum(after[("public", "auth_user")].values()) == 1
    assert sum(after[("acme", "auth_user")].values()) == 0


def test_a_failure_inside_the_per_schema_batch_stops_there(shop_repo, pg_database):
    """The zero --fake commands of one app run in one process; a schema that fails stops the
    run there, with the schemas before it done and every later command not run."""
    from tenantfix.repair import execute, plan_repair

    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    restore_settings(shop_repo)
    plan = plan_repair(shop_repo, db.url)
    assert [c.args[1] for c in plan.commands] == ["--schema=acme", "--schema=globex", "--tenant"]
    with psycopg.connect(db.url) as conn:  # the schema goes away between plan and execute
        conn.execute("ALTER SCHEMA globex RENAME TO globex_old")
    seen = []
    run = execute(plan, progress=lambda done, total, c: seen.append((done, total, c.schema)))
    assert seen == [(0, 3, "acme"), (1, 3, "globex")]
    assert [r.ok for r in run.runs] == [True, False]
    assert run.failed is not None and "--schema=globex" in run.failed.command
    assert run.failed.error and "globex" in run.failed.error
    assert run.took_effect() == [
        "acme: notes's migration records deleted (no table or row touched)"
    ]
    assert [c.shell for c in run.not_run()] == ["python manage.py migrate_schemas --tenant"]
    assert not run.ok
    assert ("notes", "0001_initial") not in records(db, "acme")
    assert ("notes", "0001_initial") in records(db, "globex_old")
    lines = run.lines()
    assert lines[0].startswith(
        "ok      1 of 2 commands of: python manage.py migrate_schemas --schema=<schema> notes zero --fake"
    )
    assert lines[1].startswith(
        "FAILED  python manage.py migrate_schemas --schema=globex notes zero --fake"
    )
    # what repair-db says afterwards: acme is not migrated yet (not a phantom), globex's row
    # names a schema that is gone, and the renamed schema is reported, never touched
    again = plan_repair(shop_repo, db.url)
    text = "\n".join(again.lines())
    assert not again.needed
    assert (
        "NOTE notes has neither migration records nor tables in 1 of 1 tenant schema(s) (acme): "
        "not a phantom, just not migrated yet (an interrupted repair?). `python manage.py "
        "migrate_schemas --tenant` creates them." in text
    )
    assert "NOTE tenant 'globex' is in customers_client but its schema does not exist" in text
    assert (
        "NOTE globex_old: has a django_migrations table but no row in public.customers_client"
        in text
    )


def test_ctrl_c_during_execute_says_what_took_effect(shop_repo, pg_database):
    import signal
    import subprocess
    import sys

    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    restore_settings(shop_repo)
    before = dump(db)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tenantfix",
            "repair-db",
            str(shop_repo),
            "--database-url",
            db.url,
            "--execute",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a background shell may hand SIGINT down ignored; a terminal's Ctrl-C is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "[1/3]" in line:  # the first zero --fake is starting
            proc.send_signal(signal.SIGINT)
            break
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "INTERRUPTED during python manage.py migrate_schemas" in stdout
    assert "What took effect:" in stdout
    assert "Traceback" not in stdout + stderr
    assert_rows_kept(before, dump(db))


def test_multi_type_tenant_schemas_are_not_judged_by_other_types_apps(tmp_path, pg_database):
    """A school tenant records the library type's migrations as skipped: not phantoms."""
    db = pg_database
    repo = init_repo(copy_project(FIXTURES / "sim_multi_type", tmp_path / "multi"))
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    create = "from customers.models import Client\nClient(schema_name='oak', name='Oak', type='school').save()\n"
    manage(repo, db, "shell", "-c", create)  # its migrate fails at grades (the fixture's point)
    assert ("library", "0001_initial") in records(db, "oak")
    assert "library_book" not in tables(db, "oak")

    plan = invoke("repair-db", str(repo), "--database-url", db.url)
    assert plan.exit_code == 0, plan.output
    assert "TF012" not in plan.stdout
    assert (
        "NOTE multi-type tenants (TENANT_TYPES): which apps migrate in a tenant schema depends on "
        "its tenant type, which tenantfix does not read yet, so the 1 tenant schema(s) were not "
        "judged (public was)." in plan.stdout
    )


def test_a_command_stuck_on_a_lock_is_killed_and_reported_as_that_commands_failure(
    shop_repo, pg_database
):
    from tenantfix.batchrun import run_batch
    from tenantfix.discover import discover
    from tenantfix.djangorun import DjangoRunner

    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    restore_settings(shop_repo)
    location = discover(shop_repo)
    commands = [
        ("migrate_schemas", f"--schema={s}", "notes", "zero", "--fake") for s in ("acme", "globex")
    ]
    with psycopg.connect(db.url) as holder:  # another session locks globex's records
        holder.execute("LOCK TABLE globex.django_migrations IN ACCESS EXCLUSIVE MODE")
        with DjangoRunner(location.root, location.settings_module, db) as runner:
            results = run_batch(runner, commands, timeout_per_command=4)
        holder.rollback()
    assert [r.ok for r in results] == [True, False]
    assert "--schema=globex" in results[1].command
    assert results[1].error and "killed after 4 s without finishing" in results[1].error
    assert ("notes", "0001_initial") not in records(db, "acme")
    assert ("notes", "0001_initial") in records(db, "globex")


def test_sigterm_while_proving_on_the_clone_drops_the_clone(shop_repo, pg_server, pg_database):
    """CI cancelling a job sends SIGTERM: the clone is dropped as after Ctrl-C (exit 130),
    the database is untouched, and no traceback is printed."""
    import signal
    import subprocess
    import sys

    db = pg_database
    notes_in(shop_repo, "neither")
    tenants_with_data(shop_repo, db)
    restore_settings(shop_repo)
    before, dbs = dump(db), databases(pg_server)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tenantfix", "repair-db", str(shop_repo)),
            *("--database-url", db.url, "--verify"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "[1/3]" in line:  # the plan is running on the clone
            proc.send_signal(signal.SIGTERM)
            break
    stdout, stderr = proc.communicate(timeout=120)
    stderr = "".join(seen) + stderr
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted" in stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert databases(pg_server) == dbs  # the clone was dropped
    assert dump(db) == before
