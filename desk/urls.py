from django.contrib import admin
from django.urls import include, path

from chats.attachments.views import attachment_file
from chats.embed import pages as embed_pages
from desk import accounts, demo
from desk.api import api

urlpatterns = [
    path("", demo.home, name="home"),
    path("admin/", admin.site.urls),
    # Before Django's account pages, so that it replaces their unlimited reset page.
    path(
        "accounts/password_reset/",
        accounts.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
    # set_language: the dashboard's language switcher (a cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/", include("chats.urls")),
    # A guest support invited: desk's own full-page chat (chats/embed/pages.py).
    path("chat/<str:token>/", embed_pages.guest_chat, name="guest_chat"),
    path("email/", include("notifications.urls")),
    # Attachments' bytes, through signed URLs only (chats/attachments/views.py).
    path("files/<uuid:attachment_id>/<str:variant>", attachment_file, name="attachment_file"),
]
