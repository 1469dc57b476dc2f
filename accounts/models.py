from __future__ import annotations

import zoneinfo
from collections import defaultdict

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smms.lib.crypto import EncryptedTextField

from .roles import Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class EmailUserManager(UserManager["User"]):
    def _create_user_object(self, username, email, password, **extra_fields):  # type: ignore[no-untyped-def]
        email = self.normalize_email(email or username)
        user = self.model(email=email, **extra_fields)
        user.password = ""
        if password:
            user.set_password(password)
        return user

    def create_user(self, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def, override]
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        user = self._create_user_object(None, email, password, **extra_fields)
        user.save(using=self._db)
        return user

    def create_superuser(self, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def, override]
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self.create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person. Signs in with an e-mail address; works in one or more organizations."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris", validators=[validate_timezone])
    # In-app notifications are always kept; this only stops their e-mail copies.
    notification_emails = models.BooleanField(_("e-mail me my notifications"), default=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = EmailUserManager()  # type: ignore[misc]

    class Meta:
        constraints = [
            # Sign-in looks users up by e-mail case-insensitively; two spellings must not both exist.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Organization(models.Model):
    """The tenant: a brand or agency. Every piece of data belongs to exactly one organization."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="accounts_membership_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accounts_membership_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class Invitation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    # The link's token: looked up by its sha256, kept encrypted only so a worker can (re)send the e-mail.
    token_hash = models.CharField(max_length=64, unique=True)
    token_encrypted = EncryptedTextField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and organization (re-inviting revokes the older one).
            models.UniqueConstraint(
                Lower("email"),
                "organization",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_one_open_per_email",
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accounts_invitation_role"),
        ]
        indexes = [
            # invitations_send_pending: open invitations not yet e-mailed.
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True, accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class Team(models.Model):
    """A group of members; moderation queues are assigned to teams."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=240, blank=True)
    members = models.ManyToManyField(Membership, related_name="teams", blank=True)
    ITEMS = "members"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="accounts_team_name_unique")]

    def __str__(self) -> str:
        return self.name


class Approvers(models.TextChoices):
    ANY = "any", _("Any member who may approve posts")
    TEAM_LEADS = "team_leads", _("Only the team's own leads, admins and owners")


class ApprovalPolicy(models.Model):
    """Who must have a post approved before it is scheduled, and by whom. One row without a team is the
    organization's default; a team's own row overrides it for the team's members. Without any row the
    built-in default applies: approval required, by any approver, who may approve their own posts (four eyes is
    a setting)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="approval_policies")
    team = models.OneToOneField(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="approval_policy")
    requires_approval = models.BooleanField(_("posts need approval before they are scheduled"), default=True)
    approvers = models.CharField(_("who may approve"), max_length=16, choices=Approvers.choices, default=Approvers.ANY)
    self_approval = models.BooleanField(_("an approver may approve their own posts"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(team__isnull=True),
                name="accounts_approvalpolicy_one_default",
            ),
            models.CheckConstraint(
                condition=models.Q(approvers__in=Approvers.values), name="accounts_approvalpolicy_approvers"
            ),
        ]

    def __str__(self) -> str:
        return f"approval policy of {self.team or self.organization}"


class NotificationKind(models.TextChoices):
    POST_SUBMITTED = "post_submitted", _("Post submitted for approval")
    POST_APPROVED = "post_approved", _("Post approved")
    POST_SENT_BACK = "post_sent_back", _("Post sent back")
    DELIVERY_FAILED = "delivery_failed", _("Post not published")
    CONVERSATION_ASSIGNED = "conversation_assigned", _("Conversation assigned to you")
    CONVERSATION_ESCALATED = "conversation_escalated", _("Conversation escalated")
    NOTE_MENTION = "note_mention", _("Mentioned in a note")
    SLA_BREACHED = "sla_breached", _("Response time exceeded")
    ACTION_FAILED = "action_failed", _("Reply or action not sent")


class Notification(models.Model):
    """Something a member should know, shown in the bell and e-mailed once. The sentence is written at display
    time from ``kind`` and ``params``, in the reader's language."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the e-mail task claims it: the claim is what makes a repeated task send nothing.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values), name="accounts_notification_kind"
            ),
        ]
        indexes = [
            # notification_unread_count: the bell, polled by every open page.
            models.Index(
                fields=["recipient", "organization"],
                condition=models.Q(read_at__isnull=True),
                name="accounts_notification_unread",
            ),
            # notification_unsent_ids: notifications whose e-mail was never claimed (a lost on-commit enqueue).
            models.Index(
                fields=["created_at"], condition=models.Q(emailed_at__isnull=True), name="accounts_notification_unsent"
            ),
            # notification_list: a member's notifications, newest first.
            models.Index(fields=["recipient", "organization", "-created_at"], name="accounts_notification_list"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"

    @property
    def sentence(self) -> str:
        """What happened, in the active language; the parameters are plain text (templates escape them)."""
        # A parameter missing (an older row, a hand-made one) reads as empty rather than breaking the page.
        p: defaultdict[str, str] = defaultdict(str, {key: str(value) for key, value in self.params.items()})
        if self.kind == NotificationKind.POST_SUBMITTED:
            return _("%(actor)s submitted a post for your approval: “%(excerpt)s”") % p
        if self.kind == NotificationKind.POST_APPROVED:
            return _("%(actor)s approved your post: “%(excerpt)s”") % p
        if self.kind == NotificationKind.POST_SENT_BACK:
            return _("%(actor)s sent back your post: “%(excerpt)s”") % p
        if self.kind == NotificationKind.DELIVERY_FAILED:
            return _("Your post could not be published on %(account)s: “%(excerpt)s”") % p
        if self.kind == NotificationKind.CONVERSATION_ASSIGNED:
            return _("%(actor)s assigned you a conversation with %(author)s: “%(excerpt)s”") % p
        if self.kind == NotificationKind.CONVERSATION_ESCALATED:
            return _("%(actor)s escalated a conversation with %(author)s: “%(excerpt)s”") % p
        if self.kind == NotificationKind.NOTE_MENTION:
            return _("%(actor)s mentioned you in a note on a conversation with %(author)s: “%(excerpt)s”") % p
        if self.kind == NotificationKind.SLA_BREACHED:
            return _("No answer in time to %(author)s in %(queue)s: it was due at %(due)s UTC") % p
        if self.kind == NotificationKind.ACTION_FAILED:
            return _("Not sent to %(author)s on %(account)s: %(reason)s") % p
        return str(self.get_kind_display())


class Platform(models.TextChoices):
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    MASTODON = "mastodon", "Mastodon"
    BLUESKY = "bluesky", "Bluesky"
    LINKEDIN = "linkedin", "LinkedIn"
    YOUTUBE = "youtube", "YouTube"
    REDDIT = "reddit", "Reddit"


class SocialAccountStatus(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnect")
    DISCONNECTED = "disconnected", _("Disconnected")


class SocialAccount(models.Model):
    """One account, page or profile on a network that the organization manages."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="social_accounts")
    platform = models.CharField(_("network"), max_length=16, choices=Platform.choices)
    remote_id = models.CharField(_("remote id"), max_length=128)
    handle = models.CharField(_("handle"), max_length=128)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    avatar_url = models.URLField(_("avatar URL"), max_length=500, blank=True)
    access_token = EncryptedTextField(_("access token"), blank=True)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True)
    token_expires_at = models.DateTimeField(_("token expires at"), null=True, blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=SocialAccountStatus.choices, default=SocialAccountStatus.CONNECTED
    )
    # A long-lived secret to sign in again when refreshing fails (a Bluesky app password), encrypted.
    secret = EncryptedTextField(_("secret"), blank=True)
    # Platform ids and locations: Mastodon instance URL, Facebook Page id, Bluesky DID and PDS, …
    extra = models.JSONField(_("platform details"), default=dict, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # A worker refreshing the tokens holds this claim, so a rotating refresh token is never used twice.
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["platform", "handle"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "platform", "remote_id"], name="accounts_socialaccount_unique_remote"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=SocialAccountStatus.values),
                name="accounts_socialaccount_status",
            ),
            models.CheckConstraint(
                condition=models.Q(platform__in=Platform.values), name="accounts_socialaccount_platform"
            ),
        ]
        indexes = [
            # Token refresh sweep: connected accounts whose token expires soon.
            models.Index(
                fields=["token_expires_at"],
                condition=models.Q(status="connected"),
                name="accounts_sa_expiring",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} @{self.handle}"


class PendingConnection(models.Model):
    """Accounts a person may add after signing in on a platform, waiting for them to pick which ones.
    The candidates (with their tokens) are stored encrypted and expire after an hour."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    candidates = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.platform} connection by {self.user}"


class PlatformApp(models.Model):
    """SMMS's own app registration on a federated server (a Mastodon instance registers apps per server)."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    instance = models.URLField(max_length=300)
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField()
    # The scopes it was registered with: a server refuses consent for a scope its app lacks, so an app registered
    # before SMMS asked for more (write:favourites, for the inbox's likes) is registered again.
    scopes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "instance"], name="accounts_platformapp_unique_instance")
        ]

    def __str__(self) -> str:
        return f"{self.platform} app on {self.instance}"


class AccountGroup(models.Model):
    """Accounts grouped by brand, region or language ("all French accounts")."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="account_groups")
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=240, blank=True)
    accounts = models.ManyToManyField(SocialAccount, related_name="groups", blank=True)
    ITEMS = "accounts"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="accounts_accountgroup_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An organization API key. Only a prefix (to find it) and a hash (to check it) are stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
