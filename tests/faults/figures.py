"""`figures(...)`: a fault or load test records the numbers it proved, for the closing summary.

Each call adds one line, named by the test, to a section of pytest's terminal summary
("desk reliability figures"), so a run's figures can be quoted (docs/reliability.md) without -s.
Imported by the conftest of tests/faults and of tests/load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    def record(**values: Any) -> None:
        line = f"{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
        request.config.stash.setdefault(FIGURES, []).append(line)

    return record


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    # Both conftests register this hook: the first call prints and empties the list.
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.write_sep("=", "desk reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
        config.stash[FIGURES] = []
