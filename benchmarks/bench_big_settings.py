"""Benchmark `tenantfix apply` on a project whose settings module is several megabytes.

Issue 11: libcst parsed (and deep-copied) the whole settings module once per fix, so a 5 MB
module with a handful of fixes took minutes. This script builds the write-up project
(tests/fixtures/writeup_project) with a settings module that needs three codemods at once
(user app moved into SHARED_APPS and out of TENANT_APPS, django_tenants moved first; plus
Django's makemigrations for the app without migrations, which imports the whole module) and pads it with plain constant assignments up to each size, then
times ``tenantfix apply --dry-run`` (the console script, a subprocess) and reports the peak RSS
of that process. One run per size unless ``--rounds``; the median is printed.

Run: ``.venv/bin/python benchmarks/bench_big_settings.py [--sizes 0.5,5] [--rounds 1]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "writeup_project"
TENANTFIX = Path(sys.executable).with_name("tenantfix")


def build(dest: Path, megabytes: float) -> Path:
    project = Path(shutil.copytree(FIXTURE, dest / "portal"))
    settings = project / "accreditation_portal" / "settings.py"
    text = settings.read_text()
    text = text.replace(
        "SHARED_APPS = [\n    'django_tenants',\n    'django.contrib.admin',\n",
        "SHARED_APPS = [\n    'django.contrib.admin',\n    'django_tenants',\n",
    )
    lines = [text, "\n# generated padding: per-tenant feature flags\n"]
    size = len(text)
    i = 0
    while size < megabytes * 1_000_000:
        line = f"FEATURE_{i:06d} = {{'enabled': {i % 2 == 0}, 'rollout': {i % 100}, 'owner': 'team-{i % 17}'}}  # flag {i}\n"
        lines.append(line)
        size += len(line)
        i += 1
    settings.write_text("".join(lines))
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    return project


def run_once(project: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of one `apply --dry-run`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(TENANTFIX), "apply", "--dry-run", str(project)], stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        said = err.read().decode(errors="replace")
    if code != 1:  # --dry-run with changes exits 1
        sys.stderr.write(said[-2000:])
    return seconds, usage.ru_maxrss / 1024, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.5,5", help="settings sizes in MB, comma-separated")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tenantfix-bench-") as tmp:
        for mb in (float(s) for s in args.sizes.split(",")):
            project = build(Path(tmp) / f"{mb}", mb)
            size = (project / "accreditation_portal" / "settings.py").stat().st_size
            runs = [run_once(project) for _ in range(args.rounds)]
            secs = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            codes = sorted({r[2] for r in runs})
            print(
                f"settings {size / 1e6:5.2f} MB: apply --dry-run {secs:7.2f} s, "
                f"peak RSS {rss:6.0f} MB, exit {codes}"
            )


if __name__ == "__main__":
    main()
