"""What tenantfix extracted from each model and migration file, reused by content.

Reading a file's models or migration is split (see :mod:`tenantfix.graph.read_models`) into an
extraction that depends only on the file's text and module name (the ``ast`` parse, the
expensive part) and a cheap resolution against the run's apps and settings, which is never
cached. Extractions are keyed by kind + module + a hash of the content, so:

- within one run, ``apply``'s re-check of a scratch copy re-parses only the files a fix changed
  (:meth:`ExtractCache.scratch` shares the extractions but never writes a cache file);
- across runs, a persistent cache (the way black keeps its cache outside the project) lives in
  ``platformdirs.user_cache_dir("tenantfix")`` or ``$TENANTFIX_CACHE_DIR``, one file per project
  root. A file whose size, mtime, ctime and inode are those recorded is not even read; any
  other is read and hashed (ctime catches a content change with the mtime set back). The cache
  file carries tenantfix's and Python's versions and a hash of its body: another version's, a
  truncated or a foreign file is ignored and rewritten. Writes are a temporary file renamed
  into place, so concurrent runs cannot corrupt it; an unwritable directory disables it.
  ``--no-cache`` / ``TENANTFIX_NO_CACHE=1`` turn it off. Nothing is ever written into the
  project tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenantfix import __version__
from tenantfix.graph.read_migrations import extract_migration
from tenantfix.graph.read_models import extract_model_file

FORMAT = 2  # 2: RunPython reads keep imported model classes (@module.Class)
NO_CACHE_ENV = "TENANTFIX_NO_CACHE"
CACHE_DIR_ENV = "TENANTFIX_CACHE_DIR"
# A file changed less than this long before the cache was written may change again with the
# same size and timestamps (coarse file-system clocks): it keeps no fast path, only its hash.
_RACY_SECONDS = 2.0

Extract = Callable[[str], Any]


def cache_disabled_by_env() -> bool:
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def cache_dir() -> Path:
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs  # only when the cache is used: keeps `--version` light

    return Path(platformdirs.user_cache_dir("tenantfix"))


def cache_file(root: Path) -> Path:
    """The cache file of the project at ``root`` (one per resolved root path)."""
    digest = hashlib.blake2b(str(root).encode(), digest_size=12).hexdigest()
    return cache_dir() / f"{root.name[:40]}-{digest}.json"


def _header() -> dict[str, object]:
    return {
        "format": FORMAT,
        "tenantfix": __version__,
        "python": list(sys.version_info[:2]),  # what parses differs between Pythons
    }


def _universal_newlines(text: str) -> str:
    # as Path.read_text does: the extracted text segments must not depend on line endings
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class ExtractCache:
    """Extractions by content (shared by a run) plus, when attached, a project's cache file."""

    def __init__(self, *, persist: bool = True, _parent: ExtractCache | None = None) -> None:
        self.persist = persist and not cache_disabled_by_env()
        self._records: dict[str, Any] = {} if _parent is None else _parent._records
        # what this cache and its scratch views did (tests and the benchmark read it)
        self._counts: list[int] = [0, 0] if _parent is None else _parent._counts
        self._file: Path | None = None
        # path -> [size, mtime_ns, ctime_ns, inode, digest]; this run's files only
        self._stats: dict[str, list[Any]] = {}
        self._known: dict[str, list[Any]] = {}  # as loaded from the cache file
        self._dirty = False

    @property
    def hits(self) -> int:
        return self._counts[0]

    @property
    def parses(self) -> int:
        return self._counts[1]

    def scratch(self) -> ExtractCache:
        """A view for a scratch copy of the project: same extractions, no cache file."""
        return ExtractCache(persist=False, _parent=self)

    def attach(self, root: Path) -> None:
        """Load ``root``'s cache file (once; later roots, e.g. scratch copies, are ignored)."""
        if not self.persist or self._file is not None:
            return
        try:
            self._file = cache_file(root)
            data = self._file.read_bytes()
        except (OSError, ValueError):
            return  # no cache yet, or none can exist here: start empty (written on save)
        self._load(data)

    def _load(self, data: bytes) -> None:
        head, _, body = data.partition(b"\n")
        try:
            header = json.loads(head)
            if not isinstance(header, dict) or header.get("digest") != _digest(body):
                return
            del header["digest"]
            if header != _header():
                return
            doc = json.loads(body)
            stats, records = doc["stats"], doc["records"]
        except (ValueError, KeyError, TypeError):
            return  # truncated, corrupt or foreign: ignored, and replaced on save
        if isinstance(stats, dict) and isinstance(records, dict):
            self._known = stats
            for key, value in records.items():
                self._records.setdefault(key, value)

    def get(self, path: Path, kind: str, module: str, extract: Extract) -> Any:
        """``extract(text)`` of the file at ``path`` (``None`` when it cannot be read)."""
        name = str(path)
        try:
            st = os.stat(name)
        except OSError:
            return None
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        known = self._known.get(name)
        if known is not None and known[:4] == stamp:
            record_key = f"{kind}:{module}:{known[4]}"
            if record_key in self._records:
                self._stats[name] = known
                self._counts[0] += 1
                return self._records[record_key]
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest = _digest(data)
        self._stats[name] = [*stamp, digest]
        if known is None or known != self._stats[name]:
            self._dirty = True
        record_key = f"{kind}:{module}:{digest}"
        if record_key in self._records:
            self._counts[0] += 1
            return self._records[record_key]
        self._counts[1] += 1
        try:
            text = _universal_newlines(data.decode("utf-8"))
        except UnicodeDecodeError:
            record = None
        else:
            record = extract(text)
        self._records[record_key] = record
        self._dirty = True
        return record

    def save(self) -> None:
        """Write the cache file if this run read anything new; failures disable it silently."""
        if self._file is None or not self._dirty:
            return
        now = time.time_ns()
        racy = now - int(_RACY_SECONDS * 1e9)
        stats: dict[str, list[Any]] = {}
        records: dict[str, Any] = {}
        for name, (size, mtime, ctime, ino, digest) in self._stats.items():
            # a racily clean file is stored without its stamp: next run hashes it
            fresh = mtime >= racy or ctime >= racy
            stats[name] = [-1 if fresh else size, mtime, ctime, ino, digest]
        wanted = {digest for *_, digest in stats.values()}
        for key, value in self._records.items():
            if key.rpartition(":")[2] in wanted:
                records[key] = value
        body = json.dumps({"stats": stats, "records": records}, separators=(",", ":")).encode()
        header = json.dumps({**_header(), "digest": _digest(body)}).encode()
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._file.parent, prefix=".tmp-", suffix=".json")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header + b"\n" + body)
            os.replace(tmp, self._file)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        self._known, self._dirty = stats, False

    def model_file(self, path: Path, module: str) -> list[object] | None:
        """What :func:`extract_model_file` reads from ``path`` (cached by content)."""
        raw: list[object] | None = self.get(
            path, "models", module, lambda text: extract_model_file(text, path, module)
        )
        return raw

    def migration_file(self, path: Path, module: str) -> dict[str, Any] | None:
        """What :func:`extract_migration` reads from ``path`` (cached by content)."""
        raw: dict[str, Any] | None = self.get(
            path, "migration", module, lambda text: extract_migration(text, path, module)
        )
        return raw


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
