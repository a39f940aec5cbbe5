"""A file-based email backend that takes its time: the provider call a worker can be killed in.

Each send waits SEND_SECONDS before Django's file backend writes the message, so a worker killed
mid-batch is, most likely, killed inside a send whose email has not been written. Selected in a
live desk with EMAIL_BACKEND=tests.faults.slow_filebased.EmailBackend (settings give it the
EMAIL_FILE_PATH folder, as for Django's own file backend).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends import filebased

SEND_SECONDS = 0.03


class EmailBackend(filebased.EmailBackend):
    def send_messages(self, email_messages: Sequence[Any]) -> int:
        time.sleep(SEND_SECONDS)
        return int(super().send_messages(email_messages))
