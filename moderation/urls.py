from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="inbox"),
    path("conversations/<int:conversation_id>/", views.conversation_detail, name="conversation_detail"),
    path("conversations/<int:conversation_id>/status/", views.conversation_status, name="conversation_status"),
]
