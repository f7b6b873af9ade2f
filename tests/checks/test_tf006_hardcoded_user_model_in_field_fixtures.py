"""TF006 on fixture projects: pipeline before/ -> after/, and Django's own system check agrees."""

from __future__ import annotations

import os
import subprocess
import sys

from user_model_cases import FIXTURES, copy_before, run_case


def manage(project, *args):
    # DB_PORT=1: nothing listens there, so this also shows the system checks stop the command
    # before it ever connects
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "DB_HOST": "127.0.0.1", "DB_PORT": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_prediction_is_what_django_prints_and_the_fix_passes_the_check(tmp_path):
    """The swapped-out auth.User case: the predicted step fails with the predicted text."""
    name = "tf006_hardcoded_user_model_in_field__auth_user"
    analysis, project = run_case(name, tmp_path)
    [diag] = analysis.diagnostics
    assert diag.prediction is not None
    error = diag.prediction.error.removeprefix("SystemCheckError: ")

    assert diag.prediction.step == "migrate_schemas --shared"
    before = manage(copy_before(name, tmp_path / "again"), "migrate_schemas", "--shared")
    assert before.returncode == 1, before.stdout + before.stderr
    assert "SystemCheckError: System check identified some issues:" in before.stderr
    assert error in before.stderr
    assert "HINT: Update the relation to point at 'settings.AUTH_USER_MODEL'." in before.stderr

    after = manage(project, "check")  # run_case left the fixed tree there
    assert after.returncode == 0, after.stdout + after.stderr
    assert (FIXTURES / name / "after").is_dir()
