"""The job manifest ``OUT/_manifest.jsonl``: one JSON object a line, appended as pairs finish.

Each record has ``name`` (pair stem, or file name for an unmatched file), ``status``
(``"ok"`` or ``"failed"``), ``seconds`` (time the worker spent on the pair), ``worker``
(``host:pid`` of the Ray worker; empty for failures found while listing), ``error`` (one line,
empty when ok) and ``time`` (UTC, ISO 8601, when the record was written).

Only the driver writes the manifest, so records never interleave. A job killed half-way may
leave a cut last line; :func:`read_manifest` skips it and :class:`ManifestWriter` starts the
next record on a fresh line.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "ManifestWriter", "read_manifest"]

MANIFEST_NAME = "_manifest.jsonl"


class ManifestWriter:
    """Appends records to a manifest file, one flushed line each."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        needs_newline = self.path.exists() and self.path.stat().st_size > 0 and not _ends_with_newline(self.path)
        self._fh = open(self.path, "a", encoding="utf-8")
        if needs_newline:
            self._fh.write("\n")

    def append(self, *, name: str, status: str, seconds: float = 0.0, worker: str = "", error: str = "") -> dict[str, Any]:
        rec = {
            "name": name,
            "status": status,
            "seconds": round(float(seconds), 4),
            "worker": worker,
            "error": error,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self._fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self._fh.flush()
        return rec

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "ManifestWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_manifest(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All complete records of a manifest (a missing file gives ``[]``; cut lines are skipped)."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"
