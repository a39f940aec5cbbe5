"""Websocket URLs, mounted by desk/asgi.py behind the origin check and the socket authentication
(a desk token, or the session: chats/embed/sockets.py)."""

from __future__ import annotations

from django.urls import path, re_path

from chats.consumers import AdminNotificationsConsumer, SupportChatConsumer, UnknownPathConsumer

websocket_urlpatterns = [
    # <str:...>, not <uuid:...>: a malformed id gets the documented 4404, not a routing error.
    path("ws/support_chat/<str:chat_id>/", SupportChatConsumer.as_asgi()),
    path("ws/admin/notifications/", AdminNotificationsConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
