from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="listening"),
    path("query-check/", views.query_check, name="query_check"),
    path("topics/<int:topic_id>/", views.topic_detail, name="topic_detail"),
    path("topics/<int:topic_id>/stream/", views.topic_stream, name="topic_stream"),
    path("topics/<int:topic_id>/edit/", views.topic_edit, name="topic_edit"),
    path("topics/<int:topic_id>/delete/", views.topic_delete, name="topic_delete"),
    path("topics/<int:topic_id>/exports/", views.export_start, name="export_start"),
    path("exports/<int:export_id>/", views.export_progress, name="export_progress"),
    path("exports/<int:export_id>/download", views.export_download, name="export_download"),
    path("alerts/live/", views.alerts_live, name="alerts_live"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("mentions/<int:mention_id>/sentiment/", views.mention_sentiment, name="mention_sentiment"),
]
