"""bin/find-python, which `make` uses to pick the interpreter for .venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
FIND_PYTHON = BASE_DIR / "bin" / "find-python"


def find_python(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(FIND_PYTHON)], env=env, capture_output=True, text=True, timeout=60
    )


def fake_interpreter(folder: Path, name: str, version: str) -> Path:
    """A stand-in that answers the version probe like a Python of `version` would."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    major, minor = version.split(".")
    if (int(major), int(minor)) >= (3, 12):
        script.write_text(f"#!/bin/sh\necho {folder / name}\n")
    else:
        script.write_text("#!/bin/sh\nexit 1\n")
    script.chmod(0o755)
    return script


def test_explicit_python_is_used_when_it_is_recent_enough(tmp_path: Path) -> None:
    result = find_python({"PYTHON": sys.executable, "PATH": str(tmp_path), "HOME": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == Path(sys.executable).resolve()


def test_explicit_python_too_old_is_refused_without_falling_back(tmp_path: Path) -> None:
    old = fake_interpreter(tmp_path / "bin", "python3.11", "3.11")
    fake_interpreter(tmp_path / "bin", "python3.13", "3.13")

    result = find_python({"PYTHON": str(old), "PATH": str(tmp_path / "bin")})

    assert result.returncode == 1
    assert f"PYTHON={old}" in result.stderr


def test_a_failing_shim_is_skipped_for_a_working_interpreter(tmp_path: Path) -> None:
    # pyenv's python3.12 shim exists on the PATH but fails unless PYENV_VERSION is set.
    fake_interpreter(tmp_path / "bin", "python3.12", "3.11")
    fake_interpreter(tmp_path / "bin", "python3", "3.11")
    good = fake_interpreter(tmp_path / "pyenv" / "versions" / "3.12.9" / "bin", "python3", "3.12")

    result = find_python(
        {"PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": "/none"}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(good)


def test_no_suitable_interpreter_is_explained(tmp_path: Path) -> None:
    fake_interpreter(tmp_path / "bin", "python3", "3.11")

    result = find_python(
        {"PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(tmp_path / "none"), "HOME": "/none"}
    )

    assert result.returncode == 1
    assert "no Python 3.12 or newer found" in result.stderr
    assert "PYTHON=" in result.stderr
