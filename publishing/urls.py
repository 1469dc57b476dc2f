from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="publishing"),
    path("compose/", views.compose, name="compose"),
    path("compose/check/", views.compose_check, name="compose_check"),
    path("compose/media/", views.media_upload, name="media_upload"),
    path("media/<int:asset_id>/", views.media_file, name="media_file"),
    path("m/<str:token>/", views.media_public, name="media_public"),
    path("posts/<int:post_id>/edit/", views.post_edit, name="post_edit"),
    path("calendar/", views.calendar, name="calendar"),
    path("approvals/", views.approvals, name="approvals"),
    path("posts/<int:post_id>/", views.post_detail, name="post_detail"),
    path("posts/<int:post_id>/submit/", views.post_submit, name="post_submit"),
    path("posts/<int:post_id>/approve/", views.post_approve, name="post_approve"),
    path("posts/<int:post_id>/schedule/", views.post_schedule, name="post_schedule"),
    path("posts/<int:post_id>/send-back/", views.post_send_back, name="post_send_back"),
    path("posts/<int:post_id>/cancel/", views.post_cancel, name="post_cancel"),
    path("posts/<int:post_id>/move/", views.post_move, name="post_move"),
    path("posts/<int:post_id>/queue/", views.post_queue, name="post_queue"),
    path("queue/", views.queue_index, name="queue"),
    path("queue/accounts/<int:account_id>/", views.queue_account, name="queue_account"),
    path("queue/accounts/<int:account_id>/best-times/", views.queue_account_best, name="queue_account_best"),
    path("queue/groups/<int:group_id>/", views.queue_group, name="queue_group"),
    path("imports/", views.post_import, name="post_import"),
    path("imports/template.csv", views.post_import_template, name="post_import_template"),
    path("imports/<int:import_id>/", views.post_import_detail, name="post_import_detail"),
    path("imports/<int:import_id>/progress/", views.post_import_progress, name="post_import_progress"),
    path("imports/<int:import_id>/good-rows/", views.post_import_good_rows, name="post_import_good_rows"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
]
