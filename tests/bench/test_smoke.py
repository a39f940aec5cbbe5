"""Every benchmark scenario at a toy size, so that `make bench` cannot rot between runs.

One run of `bench.run.run` at `run.TINY` sizes (the code path `make bench` takes, on a real stack
started by tests/live.py), shared by the tests below; each checks that one scenario ran and that
its bookkeeping holds (nothing lost, the right emails, a fixed number of queries). The figures
mean nothing at this size on a shared test machine and are not asserted. Runs on whatever the
suite runs on: SQLite and the embedded Redis, or PostgreSQL and Redis.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import report, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any) -> dict[str, Any]:
    # The floor's INSERTs and the machine's description use this process's database.
    with django_db_blocker.unblock():
        return run.run(run.TINY, run.SCENARIOS, tmp_path_factory.mktemp("bench"))


def test_every_scenario_ran(results: dict[str, Any]) -> None:
    assert results["failed"] == {}
    assert set(results["scenario_seconds"]) >= set(run.SCENARIOS)


def test_the_floor_times_a_redis_round_trip_and_a_commit(results: dict[str, Any]) -> None:
    for measured in results["floor"]:
        assert measured["redis_pubsub"]["n"] == measured["insert_commit"]["n"] > 0
        assert measured["p50_ms"] > 0


def test_fanout_delivers_every_message_to_the_user_and_the_admin_on_the_other_process(
    results: dict[str, Any],
) -> None:
    assert [(r["via"], r["rate"]) for r in results["fanout"]] == [("rest", 5), ("socket", 5)]
    for result in results["fanout"]:
        assert (result["errors"], result["lost_user"], result["lost_admin"]) == (0, 0, 0)
        assert result["user"]["n"] == result["admin"]["n"] == result["sent"] == 5


def test_throughput_climbs_the_ladder_for_one_and_two_processes(results: dict[str, Any]) -> None:
    assert [r["processes"] for r in results["throughput"]] == [1, 2]
    for result in results["throughput"]:
        assert result["steps"][0]["rate"] == run.TINY.ladder[0]
        assert all(step["lost_user"] == step["lost_admin"] == 0 for step in result["steps"])


def test_connections_reads_memory_and_times_a_broadcast_at_each_step(
    results: dict[str, Any],
) -> None:
    steps = results["connections"]
    assert [s["sockets"] for s in steps] == list(run.TINY.socket_steps)
    assert all(s["broadcast"]["n"] == run.TINY.broadcasts for s in steps)
    assert all(s["rss_mb"] > 0 for s in steps)


def test_admin_list_takes_one_query_where_the_naive_loop_takes_four_per_chat(
    results: dict[str, Any],
) -> None:
    [measured] = results["admin_list"]
    assert len(measured["cases"]) == 8
    assert {case["queries"] for case in measured["cases"]} == {1}
    first = next(c for c in measured["cases"] if c["tab"] == "active" and not c["search"])
    assert first["naive_queries"] == 1 + 4 * 50


def test_email_pipeline_sends_one_email_per_chat_left_unread_and_unarchived(
    results: dict[str, Any],
) -> None:
    email = results["email"]
    assert email["timed_out"] is False
    assert email["emails_sent"] == email["expected_emails"] == run.TINY.email_chats // 3
    assert email["emails_in_files"] == email["emails_sent"]
    assert email["duplicates"] == 0


def test_the_report_writes_the_json_and_replaces_only_the_table_in_the_docs(
    results: dict[str, Any], tmp_path: Path
) -> None:
    docs = tmp_path / "performance.md"
    docs.write_text(f"# Performance\n\nbefore\n\n{report.BEGIN}\nold\n{report.END}\n\nafter\n")
    report.write(results, tmp_path / "latest.json", docs)
    page = docs.read_text()
    assert "old" not in page
    assert page.startswith("# Performance\n\nbefore\n")
    assert page.endswith(f"{report.END}\n\nafter\n")
    for scenario in ("1 fan-out", "2 throughput", "3 connections", "4 admin list", "5 email"):
        assert f"| {scenario} |" in page
    assert json.loads((tmp_path / "latest.json").read_text())["email"]["duplicates"] == 0


def test_the_quick_start_accepts_and_delivers_every_message(results: dict[str, Any]) -> None:
    quick = results["quickstart"]
    sizes = run.TINY
    assert quick["sent"] == sizes.quickstart_rate * sizes.quickstart_seconds * sizes.repetitions
    assert (quick["errors"], quick["lost_user"], quick["lost_admin"]) == (0, 0, 0)
    assert quick["quickstart_cpu_ms_per_message"]["web"] > 0


def test_the_quick_start_runs_with_its_own_defaults_not_the_callers_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench.quickstart import quickstart_environment

    for name, value in {
        "DATABASE_URL": "postgres://elsewhere/db",
        "REDIS_URL": "redis://elsewhere:6379/0",
        "DEBUG": "false",
        "DESK_MESSAGES_PER_MINUTE": "1000000",
    }.items():
        monkeypatch.setenv(name, value)

    env = quickstart_environment(tmp_path, 8123)

    assert not {"DATABASE_URL", "REDIS_URL", "DEBUG", "DESK_MESSAGES_PER_MINUTE"} & set(env)
    assert (env["DESK_DATA_DIR"], env["PORT"]) == (str(tmp_path), "8123")
