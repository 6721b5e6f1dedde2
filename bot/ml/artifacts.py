"""Model directories: plain files (JSON, safetensors, faiss) listed with SHA-256 hashes in a manifest.

Nothing here unpickles anything. A file that is missing, unreadable or whose hash differs from
the manifest makes the whole model refuse to load.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bot.core.errors import ModelError

MANIFEST = "manifest.json"
FORMAT = "triage-model"
FORMAT_VERSION = 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def arrays_to_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    return save({k: np.ascontiguousarray(v) for k, v in arrays.items()})


def arrays_from_bytes(data: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return load(data)


def json_bytes(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def write_model_dir(path: Path, files: dict[str, bytes], info: dict) -> None:
    """Write `files` and a manifest. Files land in a temporary sibling first, then swap in."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "files": {name: _sha256(data) for name, data in sorted(files.items())}, **info}
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    (tmp / MANIFEST).write_bytes(json_bytes(manifest))
    for f in tmp.iterdir():
        with f.open("rb") as fh:
            os.fsync(fh.fileno())
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        if old.exists():
            _rmtree(old)
        path.rename(old)
        tmp.rename(path)
        _rmtree(old)
    else:
        tmp.rename(path)


def _rmtree(p: Path) -> None:
    import shutil

    shutil.rmtree(p, ignore_errors=True)


def read_model_dir(path: Path) -> tuple[dict, dict[str, bytes]]:
    """Return (manifest, files) after checking every hash."""
    path = Path(path)
    if not path.exists():
        raise ModelError("model directory not found (train one with `triage train`)", path)
    if not path.is_dir():
        raise ModelError("not a directory", path)
    mpath = path / MANIFEST
    if not mpath.exists():
        raise ModelError(f"not a triage model: {MANIFEST} is missing", path)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"corrupt model: {MANIFEST} is not valid JSON ({exc})", path) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise ModelError(f"not a triage model: {MANIFEST} has no '{FORMAT}' format or file list", path)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"model format version {manifest.get('format_version')} is not supported "
                         f"(this triage reads version {FORMAT_VERSION}); retrain the model", path)
    files: dict[str, bytes] = {}
    for name, digest in manifest["files"].items():
        fp = path / name
        if not fp.is_file():
            raise ModelError(f"corrupt model: {name} is missing", path)
        data = fp.read_bytes()
        if _sha256(data) != digest:
            raise ModelError(f"tampered or corrupt model: {name} does not match its SHA-256 in {MANIFEST}", path)
        files[name] = data
    return manifest, files
