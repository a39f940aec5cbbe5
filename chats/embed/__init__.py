"""The widget embedded on other sites: who is chatting, and how they prove it without cookies.

- `identity`: the host site's identity token (a JWT it signs with DESK_IDENTITY_SECRET).
- `tokens`: desk's own short-lived token, which the widget sends as `Authorization: Bearer` and on
  its socket, in exchange for an identity token or a guest's secret.
- `services`: contacts (guests and identified people): created, recognised, merged, forgotten.
- `api`: the REST endpoints under /api/embed/.
- `sockets`: how a socket is authenticated: by a desk token offered as a subprotocol, never by
  desk's cookies from a host site's page, else by the session.

docs/embed.md is the contract for host sites.
"""
