"""The ``datastreams`` command is a dispatcher: the ingress loads nothing above it."""

import subprocess
import sys

import pytest

from ingest.cli import COMMANDS, SUMMARIES, main

UPWARD = ("tools", "pipeline.workers")


def modules_loaded_by(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    )
    return out.stdout.split()


def test_importing_the_ingress_loads_no_worker_and_no_tool() -> None:
    loaded = modules_loaded_by(
        "import ingest.cli, ingest.app, ingest.server, ingest.commands.ingress\n"
        "from ingest.cli import parser_for\n"
        "parser_for(['ingress'])"
    )
    assert "ingest.handlers" in loaded  # the probe did load the ingress
    upward = [m for m in loaded if m.split(".")[0] == "tools" or m.startswith(UPWARD[1])]
    assert upward == []


def test_the_help_lists_every_command_without_importing_them() -> None:
    loaded = modules_loaded_by("from ingest.cli import parser_for\nparser_for(['--help'])")
    assert not [m for m in loaded if m in COMMANDS.values()]
    assert set(SUMMARIES) == set(COMMANDS)


def test_a_chosen_command_gets_its_own_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["redrive", "--help"])
    assert exited.value.code == 0
    assert "--dry-run" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        main(["worker", "nonsense"])
    assert exited.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_a_configuration_error_is_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_with_env(["tail", "t"], {"DATASTREAMS_PORT": "eighty"}) == 2
    assert "DATASTREAMS_PORT" in capsys.readouterr().err


def main_with_env(argv: list[str], env: dict[str, str]) -> int:
    import importlib

    from ingest.cli import parser_for

    args = parser_for(argv).parse_args(argv)
    code: int = importlib.import_module(COMMANDS[args.command]).run(args, env)
    return code
