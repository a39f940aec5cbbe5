"""asyncio Redis clients that get through a Redis restart: a command sent on a connection Redis
has closed is sent once more, at once, on a new connection.

redis-py's asyncio pools hand out an idle connection without noticing that the server at its other
end has gone (its synchronous pools check), and a client made from a URL (desk's own, and
channels-redis's pools) does not retry. After a Redis restart the first command on each pooled
connection therefore failed ("Connection closed by server") although Redis was back: a rate limit
or a socket slot was let through for nothing, and a channel layer's group send was lost. That last
one lost events for good: a socket that had reconnected and caught up already got the next message
and never the one before it, since a client catches up from the newest message it has
(tests/faults/test_redis.py, tests/faults/test_reconnect.py).

One immediate retry on a connection error mends exactly that. While Redis is really down the retry
is refused at once like the first try, so nothing waits longer than before. Timeouts are not
retried: Redis may have run the command, and a group send run twice would deliver an event twice.
"""

from __future__ import annotations

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError


def reconnect_once() -> Retry:
    """The retry for an asyncio client's pool (`retry=` of `from_url`)."""
    return Retry(NoBackoff(), 1, supported_errors=(ConnectionError,))
