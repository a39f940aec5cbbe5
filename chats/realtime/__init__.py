"""The real-time side of the chat domain, one module per job.

- `protocol`: the vocabulary clients are built against (event types, error and close codes,
  group names, the channel-layer message types) and who sees what of an event.
- `builders`: one function per event, building its payload from the REST output schemas.
- `transport`: sending events through the channel layer, after the commit of the write they
  announce.
- `sockets`: the socket framework both consumers share (admission, frames, errors, group events);
  the domain consumers themselves are in chats/consumers.py.

docs/events.md documents the contract; docs/architecture.md the path an event takes.
"""
