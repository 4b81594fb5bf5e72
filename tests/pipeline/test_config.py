"""The configuration toolkit: keys declared once on their fields, read with precise errors."""

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest

from pipeline.config import (
    HOURS,
    Secret,
    existing_file,
    keys_of,
    load_toml,
    read_section,
    setting,
)
from pipeline.errors import ConfigError


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Example:
    name: str = setting("x", env="EXAMPLE_NAME")
    port: int = setting(8080, minimum=1, maximum=65535, env="EXAMPLE_PORT")
    timeout_s: float = setting(1.0, minimum=0.1)
    horizon_s: float = setting(2 * HOURS, key="horizon_hours", scale=HOURS)
    enabled: bool = setting(True, env="EXAMPLE_ENABLED")
    level: str = setting("low", choices=("low", "high"))
    colour: Colour = setting(Colour.RED)
    password: Secret | None = setting(None)
    tags: tuple[str, ...] = setting(())
    cert: str | None = setting(None, parse=existing_file)
    computed: int = 0  # not a key: the caller gives it


def test_keys_are_the_fields_with_units_spelled_out() -> None:
    assert keys_of(Example) == {
        "name", "port", "timeout_seconds", "horizon_hours", "enabled", "level", "colour",
        "password", "tags", "cert",
    }  # fmt: skip


def test_values_are_typed_scaled_and_resolved(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    values = {
        "port": 9000,
        "timeout_seconds": 2,
        "horizon_hours": 3,
        "enabled": False,
        "level": "high",
        "colour": "blue",
        "password": "env:PW",
        "tags": ["a", "b"],
        "cert": str(cert),
    }
    got = read_section(Example, "example", values, {"PW": "hunter2"}, computed=7)
    assert got == Example(
        "x", 9000, 2.0, 3 * HOURS, False, "high", Colour.BLUE, Secret("hunter2"), ("a", "b"),
        str(cert), 7,
    )  # fmt: skip
    assert isinstance(got.timeout_s, float)
    assert "hunter2" not in repr(got)


def test_the_environment_overrides_the_file() -> None:
    env = {"EXAMPLE_NAME": "from-env", "EXAMPLE_PORT": "81", "EXAMPLE_ENABLED": "false"}
    got = read_section(Example, "example", {"name": "file", "port": 80}, env)
    assert (got.name, got.port, got.enabled) == ("from-env", 81, False)


@pytest.mark.parametrize(
    ("values", "env", "message"),
    [
        ({"nope": 1}, {}, r"\[example\] has unknown key\(s\) \['nope'\]; valid keys: \['cert'"),
        ({"port": "80"}, {}, "'example.port' has value '80'. Expected an integer."),
        ({"port": True}, {}, "'example.port' has value True. Expected an integer."),
        ({"port": 0}, {}, "'example.port' has value 0. Expected >= 1."),
        ({"port": 70000}, {}, "'example.port' has value 70000. Expected at most 65535."),
        ({"timeout_seconds": "1"}, {}, "Expected a number"),
        ({"level": "mid"}, {}, r"Expected one of \['low', 'high'\]"),
        ({"colour": "green"}, {}, r"Expected one of \['red', 'blue'\]"),
        ({"tags": ["a", 1]}, {}, "must be a list of strings"),
        ({"password": "env:UNSET"}, {}, "refers to environment variable UNSET, unset"),
        ({"cert": "/nonexistent"}, {}, "which is not a file"),
        ({}, {"EXAMPLE_PORT": "eighty"}, "Env 'EXAMPLE_PORT' has value 'eighty'"),
        ({}, {"EXAMPLE_PORT": "0"}, "Env 'EXAMPLE_PORT' has value 0. Expected >= 1."),
        ({}, {"EXAMPLE_ENABLED": "yes"}, "Expected true or false"),
    ],
)
def test_errors_name_the_key_the_value_and_the_need(
    values: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        read_section(Example, "example", values, env)


def test_toml_files_say_who_named_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"X_CONFIG names .*, which does not exist"):
        load_toml(tmp_path / "none.toml", "X_CONFIG")
    bad = tmp_path / "bad.toml"
    bad.write_text("[a\n")
    with pytest.raises(ConfigError, match=r"X_CONFIG file .* is not valid TOML"):
        load_toml(bad, "X_CONFIG")
    good = tmp_path / "good.toml"
    good.write_text("[a]\nb = 1\n")
    assert load_toml(good, "X_CONFIG") == {"a": {"b": 1}}
