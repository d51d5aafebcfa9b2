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
]
