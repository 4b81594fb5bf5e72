"""The external tools the deploy tests run, found where the Makefile installs them.

``make deploy-tools`` (a prerequisite of ``make test``) installs promtool and prometheus (Debian
package), kustomize (Go module proxy, into ``var/tools/bin``); hadolint comes with the dev
dependencies. A missing tool fails the test with the command that installs it: never a skip.
"""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
TOOLS_BIN = REPO_ROOT / "var" / "tools" / "bin"
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def tool(name: str) -> str:
    """Absolute path of ``name``: the project's own copy first, then PATH."""
    for folder in (TOOLS_BIN, VENV_BIN):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make deploy-tools`", pytrace=False)
    return found


def run(*cmd: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """Run a tool; never raises on a non-zero exit (the caller asserts on it)."""
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def kustomize_build(folder: Path) -> list[dict[str, Any]]:
    """The manifests ``kustomize build`` renders from ``folder``, as dicts."""
    result = run(tool("kustomize"), "build", str(folder))
    assert result.returncode == 0, f"kustomize build {folder} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))
