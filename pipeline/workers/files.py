"""The files a worker config names (rule file, scoring file, coefficients), read relative to the
config file's folder; each error names the key that named the file."""

import json
from pathlib import Path
from typing import Any

from pipeline.config import load_toml
from pipeline.errors import ConfigError


class Files:
    """Reads the files a config names, relative to the config file's folder."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def path(self, name: str) -> Path:
        p = Path(name)
        return p if p.is_absolute() else self.base / p

    def toml(self, key: str, name: str) -> dict[str, Any]:
        return load_toml(self.path(name), f"Config '{key}'")

    def json(self, key: str, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            doc = json.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"Config '{key}' names {str(path)!r}, which does not exist.") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Config '{key}': {str(path)!r} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"Config '{key}': {str(path)!r} must hold a JSON object.")
        return doc
