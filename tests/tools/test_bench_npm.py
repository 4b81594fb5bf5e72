"""The bench's npm packages come from a cache keyed by the lock file (``tools/bench/npm.py``):
a checkout's ``node_modules`` becomes a link to the entry of its own lock file, whatever was
there before, and a lock file that changes never reuses another's entry."""

from pathlib import Path

import pytest

from tools.bench import npm


def _checkout(root: Path, lock: str) -> Path:
    folder = root / "kafka-hooks"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"name": "x"}')
    (folder / "package-lock.json").write_text(lock)
    return folder


def _filled(entry: Path, module: str) -> Path:
    (entry / "node_modules" / module).mkdir(parents=True)
    return entry / "node_modules"


async def test_node_modules_links_to_the_entry_of_its_lock_file(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    folder = _checkout(tmp_path / "a", '{"lockfileVersion": 3}')
    entry = npm.cached_dir(folder, env)
    assert entry.parent == tmp_path / "cache" / "datastreams" / "npm"
    wanted = _filled(entry, "mod")
    (folder / "node_modules").mkdir()  # what an earlier `npm ci` in place left
    (folder / "node_modules" / "stale").write_text("x")
    await npm.install(folder, "mod", env)  # the entry is complete: no npm run
    assert (folder / "node_modules").is_symlink()
    assert (folder / "node_modules").resolve() == wanted.resolve()
    await npm.install(folder, "mod", env)  # again: nothing to do
    assert (folder / "node_modules").resolve() == wanted.resolve()


async def test_another_lock_file_gets_another_entry(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = npm.cached_dir(_checkout(tmp_path / "a", '{"v": 1}'), env)
    second = npm.cached_dir(_checkout(tmp_path / "b", '{"v": 2}'), env)
    same = npm.cached_dir(_checkout(tmp_path / "c", '{"v": 1}'), env)
    assert first != second
    assert first == same  # two checkouts of one lock file share the install
    folder = _checkout(tmp_path / "a", '{"v": 2}')
    (folder / "node_modules").symlink_to(_filled(first, "mod"))  # linked to the old lock's
    _filled(second, "mod")
    await npm.install(folder, "mod", env)
    assert (folder / "node_modules").resolve() == (second / "node_modules").resolve()


async def test_a_failed_npm_ci_leaves_no_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": str(tmp_path / "bin")}
    fake = tmp_path / "bin" / "npm"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nmkdir -p node_modules/half\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    folder = _checkout(tmp_path / "a", '{"v": 1}')
    with pytest.raises(npm.NpmFailed, match="exit 3"):
        await npm.install(folder, "mod", env)
    assert not npm.cached_dir(folder, env).exists()
    assert list(npm.cache_root(env).iterdir()) == []  # no staging directory left behind
    assert not (folder / "node_modules").exists()
