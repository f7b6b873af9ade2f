"""Benchmark the system checks of ``tenantfix.django``: ``manage.py check`` with and without them.

Generates the 500-app project of ``bench_check.py`` (same generator) and a second settings
module beside its settings, ``benchproj/settings_tenantfix.py``, that only adds
``"tenantfix.django"`` to SHARED_APPS (and so to INSTALLED_APPS). Then times, interleaved round
by round with the order rotated, ``python manage.py check`` with each settings module; and, in
one process per settings module, the check function alone (collect + build + rules), so the
added time can be split into interpreter work Django does anyway and tenantfix's own.

Run: ``.venv/bin/python benchmarks/bench_system_checks.py [--apps 500] [--rounds 7]``.
Target: the added time is at most 10 % of ``manage.py check``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import (  # a script beside this one, not a package
    PYTHON,
    Command,
    fmt_ms,
    generate,
    median_ms,
    run_once,
)

SETTINGS_WITH_APP = '''\
"""The benchmark settings with tenantfix's system checks installed (one line, as documented)."""
from .settings import *  # noqa: F403

SHARED_APPS = [*SHARED_APPS, "tenantfix.django"]  # noqa: F405
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]  # noqa: F405
'''

IN_PROCESS = """\
import time, django
django.setup()
from tenantfix.django.checks import tenantfix_checks
rounds = []
for _ in range(int(__import__("sys").argv[1])):
    start = time.perf_counter()
    messages = tenantfix_checks(None)
    rounds.append(time.perf_counter() - start)
rounds.sort()
print(rounds[len(rounds) // 2] * 1000, len(messages), [m.id for m in messages])
"""


def timed(
    commands: list[Command], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds (the child's user + sys) per command, interleaved and rotated.

    CPU time is what a loaded machine disturbs least: the wall figures of a 2-core machine
    shared with other jobs swing by 2x between rounds, the CPU figures by a few percent.
    """
    wall: dict[str, list[float]] = {c.name: [] for c in commands}
    cpu: dict[str, list[float]] = {c.name: [] for c in commands}
    for r in range(rounds):
        for cmd in commands[r % len(commands) :] + commands[: r % len(commands)]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            elapsed, proc = run_once(cmd)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if elapsed is None:
                raise RuntimeError(f"{cmd.name} failed: {proc.stderr[-500:]}")
            wall[cmd.name].append(elapsed)
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            cpu[cmd.name].append(used)
    return wall, cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the project here")
    args = parser.parse_args(argv)
    import django

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tenantfix-bench-syschecks-"))
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / f"apps{args.apps}"
    shutil.rmtree(root, ignore_errors=True)
    generate(root, args.apps, cache=workdir / "_cache")
    (root / "benchproj" / "settings_tenantfix.py").write_text(SETTINGS_WITH_APP)
    print(
        f"python {platform.python_version()} · Django {django.get_version()} · "
        f"{os.cpu_count()} CPUs · {args.apps} apps · {args.rounds} interleaved rounds; medians"
    )
    env_check = [PYTHON, "manage.py", "check"]
    without = Command("manage.py check", env_check, root)
    with_app = Command(
        "manage.py check + tenantfix.django",
        [*env_check, "--settings", "benchproj.settings_tenantfix"],
        root,
    )
    for cmd in (without, with_app):
        elapsed, proc = run_once(cmd)  # warm-up, and the output must be clean
        if elapsed is None or "no issues" not in proc.stdout:
            raise SystemExit(f"{cmd.name}: exit {proc.returncode}: {proc.stderr[-500:]}")
    wall, cpu = timed([without, with_app], args.rounds)
    for label, figures in (("wall", wall), ("CPU (user+sys)", cpu)):
        base, added = median_ms(figures[without.name]), median_ms(figures[with_app.name])
        print(f"{label}:")
        print(f"{without.name:>36}: {fmt_ms(base)}")
        print(f"{with_app.name:>36}: {fmt_ms(added)}")
        print(
            f"{'added':>36}: {fmt_ms(added - base)} ({(added - base) / base:+.1%}; target <= +10%)"
        )
    proc = subprocess.run(
        [PYTHON, "-c", IN_PROCESS, str(args.rounds)],
        cwd=root,
        env=dict(os.environ, DJANGO_SETTINGS_MODULE="benchproj.settings_tenantfix"),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"in-process timing failed: {proc.stderr[-500:]}")
    ms, count, ids = proc.stdout.split(maxsplit=2)
    print(
        f"{'the check function alone (in process)':>36}: {float(ms):,.0f} ms, "
        f"{count} message(s) {ids.strip()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
