"""The npm packages of the bench's Node targets, installed once per lock file.

``npm ci`` of kafka-hooks unpacks about 400 MB (its own Node binary included): most of a minute
on the 2-core machine, in every fresh checkout and in every ``make test`` of one. So the packages
are installed into a cache shared by the checkouts of a machine, one directory per content of
``package-lock.json`` (``~/.cache/datastreams/npm/<folder>-<sha256>``, under ``XDG_CACHE_HOME``
if set), and the checkout's ``node_modules`` is a symbolic link to it. A lock file that changes
gets a directory of its own; a link to another lock's directory, or a ``node_modules`` that an
earlier ``npm ci`` wrote in place, is replaced.
"""

import asyncio
import hashlib
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

LOCK = "package-lock.json"
MANIFEST = "package.json"


class NpmFailed(RuntimeError):
    pass


def cache_root(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "datastreams" / "npm"


def cached_dir(folder: Path, env: Mapping[str, str]) -> Path:
    """Where the packages of ``folder``'s lock file are (or will be) installed."""
    digest = hashlib.sha256((folder / LOCK).read_bytes()).hexdigest()[:16]
    return cache_root(env) / f"{folder.name}-{digest}"


async def _npm_ci(where: Path, env: Mapping[str, str]) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise NpmFailed(f"npm is not installed: {where.name} needs it")
    argv = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    proc = await asyncio.create_subprocess_exec(*argv, cwd=where, env=dict(env))
    if await proc.wait() != 0:
        raise NpmFailed(f"npm ci in {where} failed (exit {proc.returncode})")


async def _fill(target: Path, folder: Path, env: Mapping[str, str]) -> None:
    """``npm ci`` beside ``target``, then one rename: a cache directory is complete or absent,
    even when two checkouts install the same lock file at once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for name in (MANIFEST, LOCK):
            shutil.copyfile(folder / name, staging / name)
        await _npm_ci(staging, env)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "node_modules").is_dir():  # not a concurrent install's: a failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


async def install(folder: Path, module: str, env: Mapping[str, str]) -> None:
    """Make ``folder/node_modules`` hold the packages of ``folder``'s lock file (``module``
    among them), from the machine's cache; ``npm ci`` into the cache first if it lacks them."""
    target = cached_dir(folder, env)
    if not (target / "node_modules" / module).is_dir():
        await _fill(target, folder, env)
    link = folder / "node_modules"
    wanted = target / "node_modules"
    if link.is_symlink() and Path(os.readlink(link)) == wanted:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(wanted, target_is_directory=True)
