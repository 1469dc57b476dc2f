from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("organizations/switch/", views.organization_switch, name="organization_switch"),
    path("organizations/new/", views.organization_new, name="organization_new"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("profile/", views.profile, name="profile"),
    path("profile/language/", views.language_set, name="language_set"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("settings/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("settings/teams/", views.teams, name="teams"),
    path("settings/teams/<int:team_id>/", views.team_edit, name="team_edit"),
    path("settings/teams/<int:team_id>/delete/", views.team_delete, name="team_delete"),
    path("settings/groups/", views.groups, name="groups"),
    path("settings/groups/<int:group_id>/", views.group_edit, name="group_edit"),
    path("settings/groups/<int:group_id>/delete/", views.group_delete, name="group_delete"),
    path("settings/accounts/", views.social_accounts, name="social_accounts"),
    path("settings/accounts/connect/", views.connect, name="connect"),
    path("settings/accounts/connect/<str:platform>/start/", views.connect_start, name="connect_start"),
    path("settings/accounts/connect/<str:platform>/callback/", views.connect_callback, name="connect_callback"),
    path("settings/accounts/connect/<str:platform>/sign-in/", views.connect_password, name="connect_password"),
    path("settings/accounts/connect/pending/<int:pending_id>/", views.connect_pick, name="connect_pick"),
    path("settings/accounts/<int:account_id>/", views.social_account_edit, name="social_account_edit"),
    path(
        "settings/accounts/<int:account_id>/disconnect/",
        views.social_account_disconnect,
        name="social_account_disconnect",
    ),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:api_key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
