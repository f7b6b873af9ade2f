"""The parse cache (tenantfix.graph.cache): correctness, never speed.

A cache hit must give exactly what a parse gives; a changed file is read again (also with the
same size and mtime); another version's, a truncated or a foreign cache file is ignored; two
runs at once both succeed; nothing is written into the project; --no-cache writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_trees import FIXTURES
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.errors import TenantfixError
from tenantfix.graph import cache as cache_module
from tenantfix.graph.build import build_graph
from tenantfix.graph.cache import ExtractCache, cache_file
from tenantfix.pipeline import Options, analyse, compute_fixes

WRITEUP = FIXTURES / "writeup_project"
PROJECTS = sorted(
    p.parent.relative_to(FIXTURES).as_posix()
    for p in FIXTURES.rglob("manage.py")
    if "__pycache__" not in p.parts
)
HOUR_AGO = 3600 * 10**9


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("TENANTFIX_CACHE_DIR", str(directory))
    monkeypatch.delenv("TENANTFIX_NO_CACHE", raising=False)
    return directory


def _copy(src: Path, dest: Path, *, age_ns: int = HOUR_AGO) -> Path:
    """A copy whose files are old enough to keep the size/mtime fast path."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    stamp = os.stat(dest).st_mtime_ns - age_ns
    for path in dest.rglob("*"):
        os.utime(path, ns=(stamp, stamp))
    return dest


def _snapshot(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every entry under root: kind, bytes, mtime (a new folder or a touched file shows)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        data = path.read_bytes() if path.is_file() else None
        out[path.relative_to(root).as_posix()] = (
            "f" if data is not None else "d",
            data,
            st.st_mtime_ns,
        )
    return out


def _graph(root: Path, cache: ExtractCache | None):
    from tenantfix.discover import discover
    from tenantfix.settings import resolve_settings

    return build_graph(root, resolve_settings(discover(root)), cache=cache)


def _outcome(root: Path, use_cache: bool):
    try:
        return analyse(root, Options(cache=use_cache))
    except TenantfixError as exc:
        return ("error", exc.message, exc.exit_code)


@pytest.mark.parametrize("project", PROJECTS)
def test_results_identical_with_and_without_the_cache(project, tmp_path, cache_dir):
    root = _copy(FIXTURES / project, tmp_path / "p")
    without = _outcome(root, use_cache=False)
    assert not cache_dir.exists()  # Options(cache=False) writes nothing
    cold = _outcome(root, use_cache=True)
    warm = _outcome(root, use_cache=True)
    assert cold == without
    assert warm == without


def test_warm_build_parses_nothing_and_equals_a_parse(tmp_path, cache_dir):
    root = _copy(WRITEUP, tmp_path / "p")
    cold = ExtractCache()
    cold.attach(root.resolve())
    first = _graph(root, cold)
    cold.save()
    assert cold.parses > 0 and cold.hits == 0
    assert cache_file(root.resolve()).is_file()

    warm = ExtractCache()
    warm.attach(root.resolve())
    second = _graph(root, warm)
    assert warm.parses == 0 and warm.hits == cold.parses
    assert second == first == _graph(root, None)


def _models_file(root: Path) -> Path:
    return root / "audit" / "models.py"


def test_a_change_with_the_same_size_and_mtime_is_read_again(tmp_path, cache_dir):
    root = _copy(WRITEUP, tmp_path / "p")
    models = _models_file(root)
    text = models.read_text()
    assert "settings.AUTH_USER_MODEL" in text
    before = os.stat(models)
    cache = ExtractCache()
    cache.attach(root.resolve())
    graph = _graph(root, cache)
    cache.save()
    assert any(
        r.target == "settings.AUTH_USER_MODEL"
        for m in graph.app("audit").models
        for r in m.relations
    )

    # same length, same mtime: only the content (and so the inode's ctime) differs
    models.write_text(text.replace("settings.AUTH_USER_MODEL", "settings.AUTH_USER_MODEX"))
    os.utime(models, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(models)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    warm = ExtractCache()
    warm.attach(root.resolve())
    changed = _graph(root, warm)
    assert warm.parses == 1
    assert changed == _graph(root, None)
    assert not any(
        r.target == "settings.AUTH_USER_MODEL"
        for m in changed.app("audit").models
        for r in m.relations
    )


def test_a_touched_file_with_the_same_content_is_not_parsed_again(tmp_path, cache_dir):
    root = _copy(WRITEUP, tmp_path / "p")
    first = ExtractCache()
    first.attach(root.resolve())
    _graph(root, first)
    first.save()
    os.utime(_models_file(root))  # new mtime, same bytes: hashed, found, not parsed
    second = ExtractCache()
    second.attach(root.resolve())
    _graph(root, second)
    assert second.parses == 0


def test_resolution_follows_the_settings_not_the_cache(tmp_path, cache_dir):
    """The cache holds only what a file says by itself: a settings change that alters how a
    relation resolves (the target app no longer installed) is seen on a warm run."""
    case = FIXTURES / "tf004_shared_model_references_tenant_model__shared_fk" / "before"
    root = _copy(case, tmp_path / "p")
    first = _outcome(root, use_cache=True)
    assert first == _outcome(root, use_cache=False)
    settings = root / "proj" / "settings.py"
    text = settings.read_text()
    settings.write_text(
        text.replace(
            'TENANT_APPS = [\n    "django.contrib.contenttypes",\n    "crm",',
            'TENANT_APPS = [\n    "django.contrib.contenttypes",',
        )
    )
    assert settings.read_text() != text
    warm = ExtractCache()
    result = analyse(root, Options(), cache=warm)
    assert warm.parses == 0  # no model or migration file changed
    assert result != first
    assert result == _outcome(root, use_cache=False)


def _cold_then_warm(root: Path) -> tuple[ExtractCache, ExtractCache]:
    cold = ExtractCache()
    analyse(root, Options(), cache=cold)
    warm = ExtractCache()
    analyse(root, Options(), cache=warm)
    return cold, warm


def test_a_cache_of_another_version_is_ignored_and_rewritten(tmp_path, cache_dir, monkeypatch):
    root = _copy(WRITEUP, tmp_path / "p")
    cold, warm = _cold_then_warm(root)
    assert warm.parses == 0
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    other = ExtractCache()
    analyse(root, Options(), cache=other)
    assert other.parses == cold.parses
    header = json.loads(cache_file(root.resolve()).read_bytes().partition(b"\n")[0])
    assert header["tenantfix"] == "999.0"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated (a crash mid-write of a non-atomic tool)
        lambda data: b"",
        lambda data: b"\x00\xff garbage",
        lambda data: b'{"format": 1}\n{"stats": []}',  # foreign JSON
        lambda data: data.replace(b'"records"', b'"recordz"'),  # body edited: digest mismatch
    ],
    ids=["truncated", "empty", "binary", "foreign", "edited"],
)
def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path, cache_dir, damage):
    root = _copy(WRITEUP, tmp_path / "p")
    cold, _ = _cold_then_warm(root)
    path = cache_file(root.resolve())
    path.write_bytes(damage(path.read_bytes()))
    again = ExtractCache()
    result = analyse(root, Options(), cache=again)
    assert again.parses == cold.parses
    assert result == analyse(root, Options(cache=False))
    healed = ExtractCache()
    analyse(root, Options(), cache=healed)
    assert healed.parses == 0


def test_an_unwritable_cache_directory_disables_the_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("TENANTFIX_CACHE_DIR", str(blocker / "cache"))
    root = _copy(WRITEUP, tmp_path / "p")
    result = CliRunner().invoke(app, ["check", "--format", "json", str(root)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert blocker.read_text().startswith("a file")


def test_check_leaves_the_project_byte_identical_and_no_cache_writes_nothing(tmp_path, cache_dir):
    root = _copy(WRITEUP, tmp_path / "p")
    before = _snapshot(root)
    runner = CliRunner()
    argv = ["check", "--format", "json", str(root)]
    outputs = [runner.invoke(app, argv) for _ in range(2)]  # cold, then warm
    assert _snapshot(root) == before
    assert outputs[0].stdout == outputs[1].stdout
    assert [p.name for p in cache_dir.iterdir()] == [cache_file(root.resolve()).name]

    shutil.rmtree(cache_dir)
    uncached = runner.invoke(app, ["check", "--no-cache", "--format", "json", str(root)])
    assert uncached.stdout == outputs[0].stdout
    assert not cache_dir.exists()
    assert _snapshot(root) == before


def test_tenantfix_no_cache_variable_turns_it_off(tmp_path, cache_dir, monkeypatch):
    root = _copy(WRITEUP, tmp_path / "p")
    monkeypatch.setenv("TENANTFIX_NO_CACHE", "1")
    result = CliRunner().invoke(app, ["check", "--format", "json", str(root)])
    assert result.exit_code in (0, 1), result.output
    assert not cache_dir.exists()


def test_the_default_location_is_the_user_cache_directory(monkeypatch):
    import platformdirs

    monkeypatch.delenv("TENANTFIX_CACHE_DIR", raising=False)
    assert cache_module.cache_dir() == Path(platformdirs.user_cache_dir("tenantfix"))


def test_two_concurrent_checks_both_succeed_and_agree(tmp_path, cache_dir):
    root = _copy(WRITEUP, tmp_path / "p")
    argv = [sys.executable, "-m", "tenantfix", "check", "--format", "json", str(root)]
    env = {**os.environ, "TENANTFIX_CACHE_DIR": str(cache_dir)}
    for _ in range(2):  # both cold (racing to create the file), then both warm
        procs = [
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
        assert results[0][2] in (0, 1), results[0][1]
        assert results[0][2] == results[1][2]
        assert results[0][0] == results[1][0]
        assert b"Traceback" not in results[0][1] + results[1][1]
    assert [p.name for p in cache_dir.iterdir()] == [cache_file(root.resolve()).name]
    warm = ExtractCache()
    analyse(root, Options(), cache=warm)
    assert warm.parses == 0


def test_apply_recheck_parses_only_the_files_a_fix_changed(tmp_path, cache_dir):
    """A settings-only fix: the re-check of the scratch copy parses no model or migration."""
    case = FIXTURES / "tf001_user_app_not_shared__custom_db_table"
    root = _copy(case / "before", tmp_path / "p")
    cache = ExtractCache(persist=False)
    analysed = ExtractCache(persist=False)
    analyse(root, Options(cache=False), cache=analysed)
    result = compute_fixes(root, Options(cache=False), cache=cache)
    assert result.changes and all(path.endswith("settings.py") for path in result.changes)
    assert cache.parses == analysed.parses  # the first analysis only
    assert cache.hits >= analysed.parses  # the re-check found every file
    assert not cache_dir.exists()


def test_shallow_scratch_copy_never_writes_through_its_links(tmp_path):
    """apply's re-check copies only the folders it changes; the rest are links to the project.
    A write or a deletion in a linked folder (a generated migration) makes that folder real
    first: the project stays byte for byte as it was."""
    from tenantfix.pipeline import scratch_copy

    root = _copy(WRITEUP, tmp_path / "p")
    before = _snapshot(root)
    settings = "accreditation_portal/settings.py"
    new_migration = "audit/migrations/0001_initial.py"
    copy = scratch_copy(
        root,
        {settings: b"# changed\n", "users/models.py": None},
        shallow=True,
        real_dirs=["accreditation_portal"],
    )
    with copy as scratch:
        assert (scratch / "audit").is_symlink()
        assert not (scratch / "accreditation_portal").is_symlink()
        copy.write(new_migration, b"# generated\n")
        assert not (scratch / "audit").is_symlink()
        assert (scratch / "audit" / "models.py").read_bytes() == (
            root / "audit" / "models.py"
        ).read_bytes()
        assert (scratch / new_migration).read_bytes() == b"# generated\n"
        assert (scratch / settings).read_bytes() == b"# changed\n"
        assert not (scratch / "users" / "models.py").exists()
        assert (scratch / "documents").is_symlink()  # untouched folders stay links
        assert _snapshot(root) == before
    assert _snapshot(root) == before
    assert not Path(copy.tmp).exists()
