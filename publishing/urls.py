from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="publishing"),
    path("campaigns/", views.campaigns, name="campaigns"),
]
