from tests.faults.figures import figures, pytest_terminal_summary

__all__ = ["figures", "pytest_terminal_summary"]
