"""djangorun: the project's manage.py against another database, the user's files untouched."""

from __future__ import annotations

import json

from support_git import FIXTURES, copy_project

from tenantfix.djangorun import DjangoRunner, final_exception


def test_failing_migrate_is_reported_by_a_real_run(tmp_path, pg_database):
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    before = snapshot_files(project)
    with DjangoRunner(project, "accreditation_portal.settings", pg_database) as runner:
        result = runner.migrate("migrate_schemas", "--shared")
    assert not result.ok
    failure = result.failure
    assert failure is not None
    assert failure.migration == "admin.0001_initial"
    assert failure.schema == "public"
    assert failure.exception == (
        'django.db.utils.ProgrammingError: relation "users_user" does not exist'
    )
    assert "users.0001_initial" in result.applied and "admin.0001_initial" not in result.applied
    assert result.command == "python manage.py migrate_schemas --shared"
    # no bytecode, no settings file left in the project
    assert snapshot_files(project) == before


def test_override_keeps_engine_and_replaces_connection_only(tmp_path, pg_server):
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    db = pg_server.params.with_name("postgres").with_password("s3cret-pw")
    code = (
        "import json\nfrom django.conf import settings\n"
        "d = settings.DATABASES['default']\n"
        "print(json.dumps({k: d[k] for k in ('ENGINE', 'NAME', 'USER', 'HOST', 'PORT', 'PASSWORD')}))\n"
        "print(settings.TENANT_MODEL, settings.AUTH_USER_MODEL)\n"
    )
    with DjangoRunner(project, "accreditation_portal.settings", db) as runner:
        result = runner.script(code)
    assert result.ok, result.stderr
    first, second = result.stdout.splitlines()[:2]
    seen = json.loads(first)
    assert seen == {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": "postgres",
        "USER": db.user,
        "HOST": db.host,
        "PORT": str(db.port),
        "PASSWORD": "***",  # the password reached Django, and is scrubbed from the output
    }
    assert second == "tenants.Tenant users.User"


def test_final_exception():
    """The error line of a subprocess tenantfix has no driver in (makemigrations' own driver
    crashing, the probe, move-users' project check)."""
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ValueError: Dependency on app with no migrations: audit\n"
    )
    assert final_exception(stderr) == "ValueError: Dependency on app with no migrations: audit"
    assert final_exception("CommandError: Unknown command\n") == "CommandError: Unknown command"
    system_check = (
        "SystemCheckError: System check identified some issues:\n\nERRORS:\n"
        "tenants.Tenant.owner: (fields.E304) Reverse accessor 'User.tenant_set' clashes.\n"
        "\tHINT: Add or change a related_name argument.\n\nSystem check identified 1 issue (0 silenced).\n"
    )
    assert final_exception(system_check) == (
        "SystemCheckError: tenants.Tenant.owner: (fields.E304) Reverse accessor 'User.tenant_set' clashes."
    )


def snapshot_files(project):
    return {
        p.relative_to(project).as_posix(): p.read_bytes() for p in project.rglob("*") if p.is_file()
    }


def test_summarize_skips_frozen_frames(tmp_path, monkeypatch):
    """A frame Python names '<frozen importlib._bootstrap>' is no file of the project, even
    when tenantfix runs from inside the project (it resolved against the current directory)."""
    from tenantfix.tracebacks import summarize

    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "settings.py").write_text("import absent_app\n")
    monkeypatch.chdir(tmp_path)
    output = (
        "Traceback (most recent call last):\n"
        f'  File "{tmp_path}/proj/settings.py", line 1, in <module>\n'
        "    import absent_app\n"
        '  File "<frozen importlib._bootstrap>", line 1324, in _find_and_load\n'
        "ModuleNotFoundError: No module named 'absent_app'\n"
    )
    failure = summarize(output, tmp_path)
    assert failure.location == "proj/settings.py:1"
    assert failure.exception == "ModuleNotFoundError: No module named 'absent_app'"
