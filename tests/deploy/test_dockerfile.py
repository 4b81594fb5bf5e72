"""The Dockerfile: hadolint-clean, multi-stage, slim, non-root; its build context holds all the
code the image runs, and that code starts without any development-only package.

No Docker engine runs here, so the image is never built: the build context is reproduced from
the Dockerfile's COPY lines and .dockerignore, and its code is imported and run as the image
would (with dev-only packages made unimportable).
"""

import json
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from tests.deploy.tooling import REPO_ROOT, run, tool

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line (continuations joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for instruction in instructions(DOCKERFILE.read_text()):
        if instruction[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def test_hadolint_finds_nothing() -> None:
    result = run(tool("hadolint"), str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_root_image(tmp_path: Path) -> None:
    """Negative control: the same linter on a copy whose last USER is root."""
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"))
    result = run(tool("hadolint"), str(broken))
    assert result.returncode != 0
    assert "DL3002" in result.stdout  # Last USER should not be root


def test_multi_stage_slim_non_root() -> None:
    build, runtime = stages()
    assert re.search(r"AS build$", build[0][1])
    assert "slim" in (DOCKERFILE.read_text().split("ARG PYTHON_IMAGE=")[1].split()[0])
    runtime_args = dict(runtime)
    user = runtime_args["USER"].split(":")
    assert all(part.isdigit() and int(part) >= 1000 for part in user), user
    # Only the virtualenv comes over from the build stage: no sources, no pip cache.
    copies = [args for name, args in runtime if name == "COPY"]
    assert copies == ["--from=build /opt/datastreams /opt/datastreams"]
    assert json.loads(runtime_args["ENTRYPOINT"]) == ["datastreams"]
    assert json.loads(runtime_args["CMD"]) == ["ingress"]
    assert set(runtime_args["EXPOSE"].split()) == {"8080", "9101", "9102"}
    assert "ADD" not in {name for stage in stages() for name, _ in stage}


def copied_sources() -> list[str]:
    [build, _] = stages()
    sources = []
    for name, args in build:
        if name == "COPY" and not args.startswith("--from"):
            *srcs, _dest = args.split()
            sources.extend(srcs)
    return sources


def test_the_context_holds_every_package_the_project_declares() -> None:
    sources = copied_sources()
    assert {"pyproject.toml", "README.md"} <= set(sources)
    packages = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in packages} <= set(sources)
    allowed = {
        line[1:].rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.startswith("!")
    }
    assert set(sources) <= allowed, ".dockerignore drops a file the Dockerfile copies"
    assert DOCKERIGNORE.read_text().splitlines()[1] == "*"  # everything else is left out


def build_context(tmp_path: Path) -> Path:
    context = tmp_path / "context"
    context.mkdir()
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "sample-consumer")
    for source in copied_sources():
        path = REPO_ROOT / source
        if path.is_dir():
            shutil.copytree(path, context / source, ignore=ignored)
        else:
            shutil.copy(path, context / source)
    return context


def closure(names: set[str]) -> set[str]:
    """The distributions ``names`` need, transitively (extras included, markers honoured)."""
    seen: set[str] = set()
    stack = [(Requirement(name), set[str]()) for name in names]
    while stack:
        requirement, _ = stack.pop()
        key = requirement.name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        extras = requirement.extras | {""}
        for line in metadata.requires(requirement.name) or []:
            child = Requirement(line)
            marker = child.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras):
                stack.append((child, set()))
    return seen


def dev_only_modules() -> list[str]:
    project = PYPROJECT["project"]
    runtime = closure(set(project["dependencies"]))
    dev = closure(set(project["optional-dependencies"]["dev"])) - runtime
    modules = metadata.packages_distributions()
    return sorted(
        module
        for module, dists in modules.items()
        if all(d.lower().replace("_", "-") in dev for d in dists)
    )


IMAGE_SMOKE = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    from importlib.abc import MetaPathFinder

    BLOCKED = set(sys.argv[1].split(","))

    class DevOnly(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"{name} is a development-only package, not in the image")
            return None

    sys.meta_path.insert(0, DevOnly())
    context = sys.argv[2]
    for package in ("ingest", "pipeline", "tools"):
        module = importlib.import_module(package)
        assert module.__file__.startswith(context), module.__file__
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if not info.name.endswith(".__main__"):  # runs the command line when imported
                importlib.import_module(info.name)
    from ingest.cli import main
    for argv in (["ingress", "--help"], ["worker", "alerting", "--help"], ["--help"]):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code == 0, (argv, exc.code)
    print("image code ok")
    """
)


def test_the_image_code_runs_without_dev_dependencies(tmp_path: Path) -> None:
    blocked = dev_only_modules()
    assert {"pytest", "hypothesis", "mypy", "yaml"} <= set(blocked)
    assert "aiohttp" not in blocked
    context = build_context(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", IMAGE_SMOKE, ",".join(blocked), str(context)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(context), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "image code ok" in result.stdout
