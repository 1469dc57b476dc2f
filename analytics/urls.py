from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="analytics"),
    path("accounts/<int:account_id>/", views.account, name="analytics_account"),
    path("campaigns/<int:campaign_id>/", views.campaign, name="analytics_campaign"),
    path("posts/<int:post_id>/metrics/", views.post_metrics, name="analytics_post_metrics"),
]
