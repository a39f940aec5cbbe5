"""The admins' dashboard pages, mounted at /desk/ by desk/urls.py."""

from __future__ import annotations

from django.urls import path

from chats import dashboard

app_name = "chats"

urlpatterns = [
    path("", dashboard.chat_list, name="list"),
    path("guest_links", dashboard.guest_link_create, name="guest_link"),
    path("chats/<uuid:chat_id>/", dashboard.chat_detail, name="detail"),
    path("chats/<uuid:chat_id>/reply", dashboard.chat_reply, name="reply"),
    path(
        "chats/<uuid:chat_id>/archive",
        dashboard.chat_set_archived,
        {"archived": True},
        name="archive",
    ),
    path(
        "chats/<uuid:chat_id>/unarchive",
        dashboard.chat_set_archived,
        {"archived": False},
        name="unarchive",
    ),
]
