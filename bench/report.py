"""One table from a run's results: printed, and written with them to latest.json and the docs."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bench.stack import BASE_DIR

DOCS = BASE_DIR / "docs" / "performance.md"
# `make bench` rewrites what lies between these two lines of docs/performance.md; the rest of the
# page (what was profiled and fixed, what bounds the figures) is written by hand.
BEGIN = "<!-- bench:begin (written by make bench) -->"
END = "<!-- bench:end -->"


def _ms(value: float | None) -> str:
    if value is None or value != value:  # NaN: nothing measured
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def floor_figures(results: dict[str, Any]) -> dict[str, float]:
    runs = results["floor"]
    return {
        key: round(statistics.median(run[key] for run in runs), 2) for key in ("p50_ms", "p99_ms")
    } | {
        "redis_p50_ms": statistics.median(run["redis_pubsub"]["p50_ms"] for run in runs),
        "insert_p50_ms": statistics.median(run["insert_commit"]["p50_ms"] for run in runs),
    }


def _cpu(per: dict[str, float]) -> str:
    """CPU ms per message by part, and the rate two fully used cores would bound it to."""
    bound = 2000 / per["total"] if per["total"] else float("nan")
    return (
        f"servers {per['servers']:.1f} + PostgreSQL {per['postgres']:.1f} + Redis "
        f"{per['redis']:.1f} + load generator {per['loadgen']:.1f} = {per['total']:.1f} ms: "
        f"2 cores cap it at ~{bound:.0f} msg/s"
    )


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(scenario, case, result, target) for every figure of the run."""
    out: list[tuple[str, str, str, str]] = []
    if "fanout" in results and "floor" in results:
        floor = floor_figures(results)
        out.append(
            (
                "1 fan-out",
                "floor: Redis PUBLISH->subscriber + INSERT+COMMIT",
                f"p50 {_ms(floor['p50_ms'])} / p99 {_ms(floor['p99_ms'])} ms "
                f"(Redis {_ms(floor['redis_p50_ms'])} + PG {_ms(floor['insert_p50_ms'])})",
                "",
            )
        )
        for run in results["fanout"]:
            lost = run["lost_user"] + run["lost_admin"] + run["errors"]
            for side, label in (("user", "user's socket"), ("admin", "admin, other process")):
                s = run[side]
                ratio = s["p99_ms"] / floor["p99_ms"] if floor["p99_ms"] else float("nan")
                target = "p99 <= 25 ms, <= 10x floor" if run["rate"] == 100 else ""
                out.append(
                    (
                        "1 fan-out",
                        f"{run['via'].upper()} {run['rate']:g}/s -> {label}",
                        f"p50 {_ms(s['p50_ms'])} / p99 {_ms(s['p99_ms'])} / max "
                        f"{_ms(s['max_ms'])} ms; p99 {ratio:.1f}x floor"
                        + (f"; {lost} lost or failed" if lost else ""),
                        target,
                    )
                )
        for run in results["fanout"]:
            if run["rate"] == max(r["rate"] for r in results["fanout"] if r["rate"] <= 100):
                out.append(
                    (
                        "1 fan-out",
                        f"CPU per message, {run['via'].upper()} at {run['rate']:g}/s",
                        _cpu(run["cpu_ms_per_message"]),
                        "",
                    )
                )
    for run in results.get("throughput", []):
        at = f" (p99 {_ms(run['p99_at_max_ms'])} ms)" if run["max_rate"] else ""
        failed = (
            run["steps"][-1]
            if run["steps"] and run["steps"][-1]["rate"] != run["max_rate"]
            else None
        )
        beyond = (
            f"; at {failed['rate']:g}/s p99 {_ms(failed['both']['p99_ms'])} ms, "
            f"{failed['lost_user'] + failed['lost_admin'] + failed['errors']} lost or failed"
            if failed
            else ""
        )
        last = run["steps"][-1]["cpu_ms_per_message"] if run["steps"] else None
        cpu = f"; CPU at {run['steps'][-1]['rate']:g}/s: {_cpu(last)}" if last else ""
        out.append(
            (
                "2 throughput",
                f"{run['processes']} process{'es' if run['processes'] > 1 else ''}",
                f"{run['max_rate']:g} msg/s stored and delivered{at}{beyond}{cpu}",
                ">= 400 msg/s, p99 < 100 ms" if run["processes"] == 2 else "",
            )
        )
    for step in results.get("connections", []):
        b = step["broadcast"]
        out.append(
            (
                "3 connections",
                f"{step['sockets']:,} idle sockets, 1 process",
                f"{step['kb_per_socket']:.1f} KB each (RSS {step['rss_mb']:.0f} MB); connected in "
                f"{step['connect_seconds']:.1f} s; broadcast to admin p50 {_ms(b['p50_ms'])} / "
                f"max {_ms(b['max_ms'])} ms",
                "10,000 at <= 50 KB each" if step["sockets"] >= 10_000 else "",
            )
        )
    for size in results.get("admin_list", []):
        for case in size["cases"]:
            search = f", search '{case['search']}'" if case["search"] else ""
            out.append(
                (
                    "4 admin list",
                    f"{size['chats']:,} chats, {case['tab']}{search}, {case['page']} page",
                    f"{case['queries']} query, p50 {_ms(case['p50_ms'])} / p95 "
                    f"{_ms(case['p95_ms'])} ms; naive {case['naive_queries']} queries, p50 "
                    f"{_ms(case['naive_p50_ms'])} ms ({case['naive_ratio']}x)",
                    "<= 5 queries, p95 <= 50 ms" if size["chats"] >= 100_000 else "",
                )
            )
        unread = size.get("unread_count")
        if unread:
            out.append(
                (
                    "4 admin list",
                    f"{size['chats']:,} chats, the title's unread count",
                    f"{unread['unread_chats']:,} unread, {unread['queries']} query, p50 "
                    f"{_ms(unread['p50_ms'])} / p95 {_ms(unread['p95_ms'])} ms; counted over "
                    f"the messages p50 {_ms(unread['naive_p50_ms'])} ms ({unread['naive_ratio']}x)",
                    "",
                )
            )
    if "email" in results:
        e = results["email"]
        lag = e["due_to_sent_s"]
        out.append(
            (
                "5 email",
                f"{e['chats']:,} replies, 5 s delay, 1/3 read, 1/3 archived",
                f"{e['emails_sent']:,} sent of {e['expected_emails']:,} expected "
                f"({e['emails_in_files']:,} in the outbox), {e['duplicates']} duplicates; "
                f"due->sent p50 {lag['p50_s']:.1f} / max {lag['max_s']:.1f} s; replies posted in "
                f"{e['reply_seconds']:.0f} s",
                "drained within 60 s of due, 0 duplicates",
            )
        )
    if "quickstart" in results:
        q = results["quickstart"]
        both = q["both"]
        lost = q["lost_user"] + q["lost_admin"] + q["errors"]
        cpu = q["quickstart_cpu_ms_per_message"]
        out.append(
            (
                "6 quick start",
                f"`make run` as the README starts it, REST {q['rate']:g}/s for {q['seconds']:g} s, "
                f"{q['users']} users -> their sockets and an admin's",
                f"{q['sent'] - q['errors']:,} of {q['sent']:,} accepted, {lost} lost or failed; "
                f"p50 {_ms(both['p50_ms'])} / p99 {_ms(both['p99_ms'])} / max "
                f"{_ms(both['max_ms'])} ms; CPU per message: web {cpu['web']:.1f} + Redis "
                f"{cpu['redis']:.1f} + worker and the rest {cpu['rest']:.1f} ms",
                "every message, p99 <= 50 ms",
            )
        )
    for name, error in results.get("failed", {}).items():
        out.append((name, "FAILED", error.splitlines()[0][:300] if error else "", ""))
    return out


def table(results: dict[str, Any]) -> str:
    data = rows(results)
    header = ("scenario", "case", "result", "target")
    widths = [max(len(r[i]) for r in [header, *data]) for i in range(3)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + "  target",
        "  ".join("-" * w for w in widths) + "  ------",
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[3]
              for r in data]  # fmt: skip
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    machine = (
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['os']}; Python {m['python']}; "
        f"PostgreSQL {m.get('postgresql', '-')} and Redis {m['redis']} on the same machine, "
        f"loopback; load generator on the same cores. Run started {results['started']}, took "
        f"{results['seconds']:.0f} s."
    )
    busy = results["busy_at_start"]
    others = "; ".join(f"`{p}`" for p in busy["processes"]) or "none above 5 % of a core"
    lines = [
        "| Scenario | Case | Result | Target |",
        "|---|---|---|---|",
        *(f"| {s} | {c} | {r} | {t} |" for s, c, r, t in rows(results)),
        "",
        f"Machine: {machine}",
        "",
        f"Before the run the machine's CPU was {busy['machine_cpu_percent']:.0f} % busy; other "
        f"processes: {others}.",
    ]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], json_path: Path, docs_path: Path | None) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    if docs_path is not None:
        page = docs_path.read_text() if docs_path.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        docs_path.write_text(f"{head}{BEGIN}\n{markdown(results)}{END}{tail}")
