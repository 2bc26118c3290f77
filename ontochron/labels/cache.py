"""Content-addressed label cache (SQLite): the key hashes everything a label depends on (the
evidence shown, prompt version, model, method), so re-running labels nothing twice and an
unchanged feature at another checkpoint reuses its label. Never holds credentials."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ontochron.errors import InputError
from ontochron.labels.evidence import content_hash

DEFAULT_CACHE_DIR = Path(".ontochron") / "label-cache"
CACHE_FILE = "labels.sqlite"


def cache_key(method: str, model: str, prompt_version: str, evidence_hash: str,
              settings: dict[str, Any] | None = None) -> str:
    """The cache key: SHA-256 over method, model, prompt version, evidence hash and any
    other setting that changes the answer (for embeddings: the vocabulary's hash)."""
    return content_hash({"method": method, "model": model, "prompt_version": prompt_version,
                         "evidence": evidence_hash, "settings": settings or {}})


class LabelCache:
    """A key -> JSON value store in ``<dir>/labels.sqlite``; safe to use from threads."""

    def __init__(self, directory: str | os.PathLike[str] = DEFAULT_CACHE_DIR) -> None:
        self.path = Path(directory) / CACHE_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS labels (key TEXT PRIMARY KEY, "
                             "method TEXT, model TEXT, created_at TEXT, value TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the label cache: {exc}", self.path) from exc
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached value for ``key``, or None (counted as a hit or a miss)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM labels WHERE key = ?", (key,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        return json.loads(row[0])

    def put(self, key: str, value: dict[str, Any], *, method: str = "", model: str = "") -> None:
        """Store ``value`` (JSON-serialisable) under ``key``, replacing any old value."""
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?)",
                             (key, method, model, now, text))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM labels").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> LabelCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
