"""`python -m desk.web`: a web host's server, as docs/deploy.md starts it."""

from __future__ import annotations

import json
import signal
import sys
import urllib.request
from pathlib import Path

from django.conf import settings

from tests.live import Server, free_port, live_desk, spawn, wait_until_listening


def test_a_web_host_serves_readiness_and_stops_on_sigterm(tmp_path: Path) -> None:
    with live_desk(tmp_path, servers=0) as desk:
        port = free_port()
        env = {**desk.env, "HOST": "127.0.0.1", "PORT": str(port), "REDIS_URL": settings.REDIS_URL}
        process = spawn("web", [sys.executable, "-m", "desk.web"], env, tmp_path)
        server = Server("web", port, process, tmp_path / "web.log")
        try:
            wait_until_listening(server)
            with urllib.request.urlopen(f"{server.origin}/readyz", timeout=10) as response:
                status, body = response.status, json.loads(response.read())
        finally:
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(20)

    assert status == 200
    assert body == {"database": "ok", "redis": "ok"}
    assert exit_code in (0, -signal.SIGTERM)
    assert "Finished server process" in server.log.read_text()
