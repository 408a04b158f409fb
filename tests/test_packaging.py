"""Set-up files agree: pyproject.toml pins == environment.yml pins; CLI entry points work."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
import yaml
from conftest import REPO_ROOT

from relate.cli import COMMANDS, build_parser, main


def pyproject_pins() -> set[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["test"])


def environment_pins() -> set[str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return {p for p in pip_lists[0] if not p.startswith("-e")}


def test_environment_yml_mirrors_pyproject() -> None:
    assert environment_pins() == pyproject_pins()


def test_every_dependency_is_pinned() -> None:
    assert all("==" in pin for pin in pyproject_pins()), pyproject_pins()


def test_torch_pin_is_the_cpu_wheel_on_disk() -> None:
    assert "torch==2.13.0" in pyproject_pins()


def subcommand_names() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_every_command_module_registers_a_subcommand() -> None:
    assert len(subcommand_names()) == len(COMMANDS)


@pytest.mark.parametrize("command", subcommand_names())
def test_each_subcommand_has_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: relate {command}" in capsys.readouterr().out


def test_python_dash_m_relate() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "relate", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for name in subcommand_names():
        assert name in result.stdout


def test_console_script_installed() -> None:
    script = REPO_ROOT / ".venv" / "bin" / "relate"
    if not script.exists():
        pytest.skip("not running from the Makefile's .venv")
    result = subprocess.run([str(script), "validate", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "DATA_DIR" in result.stdout
