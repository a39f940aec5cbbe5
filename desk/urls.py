from django.contrib import admin
from django.urls import include, path

from desk import views
from desk.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", api.urls),
    path("desk/", include("chats.urls")),
    path("email/", include("notifications.urls")),
]
