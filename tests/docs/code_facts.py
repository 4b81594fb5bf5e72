"""What the code defines that the docs must mention, read from the code itself.

Read from the source (AST) rather than from a list kept here, so that a key, an environment
variable or a dead-letter reason added to the code without a line in the docs fails a test:

* configuration key sets: every settings dataclass that declares keys on its fields
  (``pipeline.config.keys_of``), module-level ``*_KEYS = {...}`` and ``SECTIONS = {...}``, set
  literals passed as the known keys of ``Section(...)`` or the rule reader ``_Reader(...)``, and
  function-local ``known = {...}``;
* environment variables: string constants read through ``env``/``environ`` (``.get`` or ``[]``),
  named by ``setting(..., env="NAME")`` or by a module constant ``*_ENV = "NAME"``;
* dead-letter reasons: the first argument of the calls that dead-letter (string constants);
* error codes: the ``code`` of every ``IngestError`` subclass, walked at run time.
"""

import ast
import dataclasses
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest import errors
from ingest.errors import IngestError
from pipeline.config import keys_of

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_PACKAGES = ("ingest", "pipeline", "tools")
KEY_READERS = frozenset({"Section", "_Reader"})
ENV_NAMES = frozenset({"env", "environ"})


@dataclass(frozen=True)
class KeySet:
    where: str  # "module.NAME" or "module.function"
    keys: frozenset[str]


def _modules(packages: tuple[str, ...]) -> Iterator[tuple[str, ast.Module]]:
    for package in packages:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "node_modules" in path.parts:  # npm packages the bench installs, not our code
                continue
            name = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
            yield name, ast.parse(path.read_text("utf-8"), str(path))


def _strings(node: ast.expr) -> frozenset[str] | None:
    """The strings of a set literal of string constants; None for anything else."""
    if not isinstance(node, ast.Set) or not node.elts:
        return None
    values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
    if len(values) != len(node.elts) or not all(isinstance(v, str) for v in values):
        return None
    return frozenset(str(v) for v in values)


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def settings_key_sets() -> list[KeySet]:
    """The keys of every settings dataclass, found by importing each module."""
    found: list[KeySet] = []
    for module, _ in _modules(CONFIG_PACKAGES):
        if module.endswith("__main__"):
            continue
        loaded = importlib.import_module(module)
        for name, value in vars(loaded).items():
            defined_here = getattr(value, "__module__", None) == module
            if isinstance(value, type) and dataclasses.is_dataclass(value) and defined_here:
                keys = keys_of(value)
                if keys:
                    found.append(KeySet(f"{module}.{name}", frozenset(keys)))
    return found


def config_key_sets() -> list[KeySet]:
    found: list[KeySet] = settings_key_sets()
    for module, tree in _modules(CONFIG_PACKAGES):
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                keys = _strings(stmt.value)
                name = target.id if isinstance(target, ast.Name) else ""
                if (name.endswith("_KEYS") or name == "SECTIONS") and keys:
                    found.append(KeySet(f"{module}.{name}", keys))
        for function in _functions(tree):
            where = f"{module}.{function.name}"
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and _call_name(node) in KEY_READERS:
                    keys = _strings(node.args[2]) if len(node.args) > 2 else None
                    if keys:
                        found.append(KeySet(where, keys))
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target, keys = node.targets[0], _strings(node.value)
                    if isinstance(target, ast.Name) and target.id == "known" and keys:
                        found.append(KeySet(where, keys))
    return found


def _env_name(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ENV_NAMES
    return isinstance(node, ast.Attribute) and node.attr in ENV_NAMES


def environment_variables(packages: tuple[str, ...] = ("ingest", "pipeline")) -> set[str]:
    names: set[str] = set()
    for _, tree in _modules(packages):
        for node in ast.walk(tree):
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "get" and _env_name(node.func.value) and node.args:
                    key = node.args[0]
            elif isinstance(node, ast.Subscript) and _env_name(node.value):
                key = node.slice
            elif isinstance(node, ast.Call) and _call_name(node) == "setting":
                key = next((k.value for k in node.keywords if k.arg == "env"), None)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.endswith("_ENV"):
                    key = node.value
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    return names


def first_string_arguments(packages: tuple[str, ...], callees: frozenset[str]) -> set[str]:
    """String constants passed first to any of ``callees`` (non-constant arguments skipped)."""
    values: set[str] = set()
    for _, tree in _modules(packages):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in callees and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    values.add(first.value)
    return values


DEAD_LETTER_CALLS = frozenset({"UnusableInput"})
# Calls that turn a caught IngestError into a dead letter with the error's code as the reason.
ERROR_TO_DEAD_LETTER_CALLS = frozenset({"whole_body_letter", "unreadable", "unusable"})


def _caught_names(handler: ast.ExceptHandler) -> list[str]:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return [k.id for k in kinds if isinstance(k, ast.Name)]


def ingress_dead_letter_reasons() -> set[str]:
    """Reasons the ingress writes: ``UnusableInput("reason", …)``, plus the code of every
    ``IngestError`` an ``except`` clause turns into a dead letter (an authenticated body that is
    not JSON, say)."""
    reasons = first_string_arguments(("ingest",), DEAD_LETTER_CALLS)
    for _, tree in _modules(("ingest",)):
        for handler in ast.walk(tree):
            if not isinstance(handler, ast.ExceptHandler):
                continue
            calls = {_call_name(n) for n in ast.walk(handler) if isinstance(n, ast.Call)}
            if calls & ERROR_TO_DEAD_LETTER_CALLS:
                for name in _caught_names(handler):
                    kind = getattr(errors, name, None)
                    if isinstance(kind, type) and issubclass(kind, IngestError):
                        reasons.add(kind.code)
    return reasons


def worker_dead_letter_reasons() -> set[str]:
    """Reasons the consume loop writes: ``UnusableInput("reason", …)`` and the handler-error case
    passed to ``_dead_letter(record, "reason", …)``."""
    reasons = first_string_arguments(("pipeline",), frozenset({"UnusableInput"}))
    for _, tree in _modules(("pipeline",)):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "_dead_letter":
                second = node.args[1] if len(node.args) > 1 else None
                if isinstance(second, ast.Constant) and isinstance(second.value, str):
                    reasons.add(second.value)
    return reasons


def _subclasses(cls: type[IngestError]) -> Iterator[type[IngestError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_codes() -> set[str]:
    return {IngestError.code} | {cls.code for cls in _subclasses(IngestError)}
