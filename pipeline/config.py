"""The one configuration toolkit: units, secrets, settings fields, and TOML reading.

Every process (ingress, workers, tools) builds its settings once, at its entrypoint, as frozen
dataclasses; nothing else reads ``os.environ``. A settings dataclass declares each configuration
key once, on its field::

    @dataclass(frozen=True)
    class ServerSettings:
        port: int = setting(8080, minimum=0, env="DATASTREAMS_PORT")
        drain_timeout_s: float = setting(15 * SECONDS)        # key: drain_timeout_seconds
        tls_cert_file: str | None = setting(None, parse=existing_file)

``read_section(ServerSettings, "server", table)`` then reads the TOML table: a field's key is its
name with the unit suffix spelled out (``_s`` → ``_seconds``) unless ``key=`` names it; the value
must have the field's type (``str``, ``bool``, ``int``, ``float``, ``Secret``,
``tuple[str, ...]``, a ``StrEnum``, each optionally ``| None``), lie within ``minimum``/``maximum``
or ``choices``, and is multiplied by ``scale`` (hours → seconds); an environment variable named by
``env`` overrides the file. Unknown keys are refused with the list of valid ones; every error
names the key, the value (never a secret's) and what was expected. ``keys_of`` lists a
dataclass's keys (the docs test checks each is documented).

Secrets: a value may be written ``env:NAME`` (an environment variable), ``file:/path`` (a file's
contents, trailing newline stripped, e.g. a mounted Kubernetes Secret) or literally; ``resolve``
turns any of them into a ``Secret``, which never shows itself in ``repr``, ``str`` or logs.
"""

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from pipeline.errors import ConfigError

SECONDS = 1.0
MINUTES = 60 * SECONDS
HOURS = 60 * MINUTES
DAYS = 24 * HOURS
KIB = 1024
MIB = 1024 * KIB
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

T = TypeVar("T")
Env = Mapping[str, str]
Parse = Callable[[Any, str, Env], Any]  # (TOML value, "section.key", environment) -> field value
_CONFIG = "datastreams.config"


class Secret:
    """A string that never shows itself in repr, str or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve(ref: str, where: str, env: Env) -> Secret:
    """The secret a config value refers to; errors name the key, never the value."""
    if ref.startswith("env:"):
        name = ref[4:]
        if name not in env:
            raise ConfigError(f"Config '{where}' refers to environment variable {name}, unset.")
        return Secret(env[name])
    if ref.startswith("file:"):
        try:
            return Secret(Path(ref[5:]).read_text("utf-8").rstrip("\r\n"))
        except OSError as exc:
            raise ConfigError(
                f"Config '{where}' refers to file {ref[5:]!r}: {exc.strerror}"
            ) from exc
    return Secret(ref)


@dataclass(frozen=True)
class Key:
    """How one settings field is read: its TOML key and the checks on its value."""

    name: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    scale: float = 1.0
    env: str | None = None
    parse: Parse | None = None


def setting(
    default: Any = MISSING,
    *,
    key: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    scale: float = 1.0,
    env: str | None = None,
    parse: Parse | None = None,
    factory: Callable[[], Any] | None = None,
    repr: bool = True,
) -> Any:
    """A settings field that is also a configuration key (see the module docstring)."""
    meta = {_CONFIG: Key(key, minimum, maximum, choices, scale, env, parse)}
    if factory is not None:
        return field(default_factory=factory, repr=repr, metadata=meta)
    return field(default=default, repr=repr, metadata=meta)


def key_name(f: "Field[Any]") -> str:
    spec: Key = f.metadata[_CONFIG]
    if spec.name:
        return spec.name
    return f.name[:-2] + "_seconds" if f.name.endswith("_s") else f.name


def _keyed(cls: type) -> list["Field[Any]"]:
    return [f for f in fields(cls) if _CONFIG in f.metadata]


def keys_of(cls: type) -> set[str]:
    """Every configuration key a settings dataclass reads."""
    return {key_name(f) for f in _keyed(cls)}


class Section:
    """Key-by-key reading, for documents whose keys depend on other keys (the alert-rule file):
    the same checks as ``read_section``, asked for one key at a time. ``error`` is the
    ``ConfigError`` subclass to raise."""

    def __init__(
        self,
        where: str,
        values: Mapping[str, Any],
        known: set[str],
        error: type[ConfigError] = ConfigError,
    ) -> None:
        self.where = where
        self.values = values
        self.error = error
        unknown = sorted(set(values) - known)
        if unknown:
            raise error(f"{where} has unknown key(s) {unknown}; valid keys: {sorted(known)}")

    def fail(self, key: str, expected: str) -> ConfigError:
        return self.error(
            f"{self.where}.{key} has value {self.values.get(key)!r}. Expected {expected}."
        )

    def text(self, key: str, default: str | None = None) -> str:
        value = self.values.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            raise self.fail(key, "a non-empty string" if default is None else "a string")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "a list of strings")
        return tuple(value)

    def number(self, key: str, default: float | None = None, minimum: float = 0.0) -> float:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.fail(key, f"a number >= {minimum:g}")
        return float(value)

    def table(self, key: str) -> Mapping[str, Any] | None:
        value = self.values.get(key)
        if value is not None and not isinstance(value, Mapping):
            raise self.fail(key, "a table")
        return value


def table(doc: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"Config [{name}] must be a table, got {type(value).__name__}.")
    return value


def tables(doc: Mapping[str, Any], name: str) -> list[tuple[str, Mapping[str, Any]]]:
    """An array of tables (``[[name]]``) as (``name[i]``, table) pairs."""
    raw = doc.get(name, [])
    if not isinstance(raw, list):
        raise ConfigError(f"Config '{name}' must be an array of tables ([[{name}]]).")
    out = []
    for i, values in enumerate(raw):
        if not isinstance(values, Mapping):
            raise ConfigError(f"Config '{name}[{i}]' must be a table.")
        out.append((f"{name}[{i}]", values))
    return out


def check_sections(doc: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ConfigError(f"Config has unknown section(s) {unknown}; valid: {sorted(known)}")


def read_section(
    cls: type[T],
    where: str,
    values: Mapping[str, Any],
    env: Env | None = None,
    *,
    shared_with: tuple[type, ...] = (),
    **given: Any,
) -> T:
    """A settings dataclass from one TOML table; ``given`` supplies the fields that are not keys
    (computed by the caller). Missing keys keep the field's default. ``shared_with``: the other
    dataclasses that read keys of the same table (their keys are not unknown here)."""
    env = env or {}
    keyed = _keyed(cls)
    names = {key_name(f): f for f in keyed}
    valid = set(names).union(*(keys_of(other) for other in shared_with))
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ConfigError(
            f"Config [{where}] has unknown key(s) {unknown}; valid keys: {sorted(valid)}"
        )
    values = {k: v for k, v in values.items() if k in names}
    hints = get_type_hints(cls)
    kwargs = dict(given)
    for name, f in names.items():
        spec: Key = f.metadata[_CONFIG]
        hint, at = hints[f.name], f"{where}.{name}"
        if spec.env and env.get(spec.env):
            raw = _from_text(env[spec.env], hint, spec.env)
            kwargs[f.name] = _value(raw, spec, hint, at, env, spec.env)
        elif name in values:
            kwargs[f.name] = _value(values[name], spec, hint, at, env)
    return cls(**kwargs)


def _value(
    raw: Any, spec: Key, hint: Any, where: str, env: Env, env_name: str | None = None
) -> Any:
    if spec.parse is not None:
        return spec.parse(raw, where, env)
    kind = _without_none(hint)
    value = _typed(raw, kind, where, env, env_name)
    shown = f"Env '{env_name}'" if env_name else f"Config '{where}'"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            raise ConfigError(f"{shown} has value {value}. Expected >= {spec.minimum:g}.")
        if spec.maximum is not None and value > spec.maximum:
            raise ConfigError(f"{shown} has value {value}. Expected at most {spec.maximum:g}.")
        if spec.scale != 1.0:
            value = value * spec.scale
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{shown} has value {value!r}. Expected one of {list(spec.choices)}.")
    return value


def _without_none(hint: Any) -> Any:
    if get_origin(hint) in (Union, UnionType):
        args = [a for a in get_args(hint) if a is not NoneType]
        if len(args) == 1:
            return args[0]
    return hint


_EXPECTED = {str: "a string", bool: "true or false", int: "an integer", float: "a number"}


def _typed(raw: Any, kind: Any, where: str, env: Env, env_name: str | None) -> Any:
    shown = f"Env '{env_name}'" if env_name else f"Config '{where}'"
    if kind is Secret:
        return resolve(_typed(raw, str, where, env, env_name), where, env)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        options = tuple(member.value for member in kind)
        if raw not in options:
            raise ConfigError(f"{shown} has value {raw!r}. Expected one of {list(options)}.")
        return kind(raw)
    if get_origin(kind) is tuple:
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise ConfigError(f"{shown} must be a list of strings.")
        return tuple(raw)
    ok = isinstance(raw, int | float) if kind is float else isinstance(raw, kind)
    if isinstance(raw, bool) and kind is not bool:
        ok = False  # bool is an int in Python; never accept it for a number
    if not ok:
        raise ConfigError(f"{shown} has value {raw!r}. Expected {_EXPECTED.get(kind, kind)}.")
    return float(raw) if kind is float else raw


def _from_text(text: str, hint: Any, env_name: str) -> Any:
    """An environment variable's text as the field's type."""
    kind = _without_none(hint)
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(
            f"Env '{env_name}' has value {text!r}. Expected {_EXPECTED[kind]}."
        ) from None
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ConfigError(f"Env '{env_name}' has value {text!r}. Expected true or false.")
        return text.lower() == "true"
    return text


def log_level(raw: Any, where: str, env: Env) -> str:
    level = raw.upper() if isinstance(raw, str) else raw
    if level not in LOG_LEVELS:
        raise ConfigError(f"Log level {raw!r} is not one of {list(LOG_LEVELS)}.")
    return str(level)


def existing_file(raw: Any, where: str, env: Env) -> str:
    if not isinstance(raw, str) or not Path(raw).is_file():
        raise ConfigError(f"Config '{where}' names {raw!r}, which is not a file.")
    return raw


def http_url(raw: Any, where: str, env: Env) -> str:
    if not isinstance(raw, str) or not raw.startswith(("https://", "http://")):
        raise ConfigError(f"Config '{where}' has value {raw!r}. Expected a URL.")
    return raw.rstrip("/")


def load_toml(path: Path, named_by: str) -> dict[str, Any]:
    """A TOML file's document; errors say who named the file (``DATASTREAMS_CONFIG``,
    ``Config 'alerting.rules_file'``)."""
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{named_by} names {str(path)!r}, which does not exist.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{named_by} file {str(path)!r} is not valid TOML: {exc}") from exc
