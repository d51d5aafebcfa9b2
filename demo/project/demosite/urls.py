from django.contrib.auth import views as auth_views
from django.urls import path

from notes import views

urlpatterns = [
    path("", views.home, name="home"),
    path("notes/", views.notes, name="notes"),
    path("cached/", views.cached, name="cached"),
    path("upload/", views.upload, name="upload"),
    path("request/", views.request_info, name="request_info"),
    path("visits/", views.visits, name="visits"),
    path("signed/", views.signed, name="signed"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="notes/account.html",
                                                         extra_context={"title": "Log in"}), name="login"),
    path("private/", views.private, name="private"),
]
