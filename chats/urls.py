"""The admins' dashboard pages, mounted at /desk/ by desk/urls.py."""

from __future__ import annotations

from django.urls import path

from chats import views

app_name = "chats"

urlpatterns = [
    path("", views.chat_list, name="list"),
    path("chats/<uuid:chat_id>/", views.chat_detail, name="detail"),
    path("chats/<uuid:chat_id>/reply", views.chat_reply, name="reply"),
    path(
        "chats/<uuid:chat_id>/archive", views.chat_set_archived, {"archived": True}, name="archive"
    ),
    path(
        "chats/<uuid:chat_id>/unarchive",
        views.chat_set_archived,
        {"archived": False},
        name="unarchive",
    ),
]
