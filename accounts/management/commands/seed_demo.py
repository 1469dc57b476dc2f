"""Load the demo organization: members of every role, teams, groups and social accounts. Idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.demo import connect_demo_accounts, generate_demo_traffic
from accounts.models import AccountGroup, Membership, Organization, Team, User
from accounts.roles import Role

DEMO_PASSWORD = "smms-demo-2026"  # noqa: S105 -- printed demo login, refused in production
ORG_NAME = "Maison Lumière"

PEOPLE = [
    ("owner@demo.smms.test", "Camille", "Durand", Role.OWNER, "fr"),
    ("lead@demo.smms.test", "Hugo", "Martin", Role.TEAM_LEAD, "fr"),
    ("agent1@demo.smms.test", "Léa", "Bernard", Role.COMMUNITY_MANAGER, "fr"),
    ("agent2@demo.smms.test", "Sam", "Taylor", Role.COMMUNITY_MANAGER, "en"),
    ("analyst@demo.smms.test", "Noah", "Petit", Role.ANALYST, "en"),
]

# Groups the connected accounts fall into, by their language or market.
GROUPS = {"France": "fr", "United Kingdom": "en"}


class Command(BaseCommand):
    help = "Create (or refresh) the demo organization and print its logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "SMMS_DEMO_DATA_ALLOWED", False):
            raise CommandError("Demo data is disabled in these settings (SMMS_DEMO_DATA_ALLOWED).")
        with transaction.atomic():
            users = {}
            for email, first, last, _role, lang in PEOPLE:
                user, created = User.objects.get_or_create(
                    email=email, defaults={"first_name": first, "last_name": last, "language": lang}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                users[email] = user
            org = Organization.objects.filter(name=ORG_NAME).first()
            if org is None:
                org = services.organization_create(name=ORG_NAME, owner=users[PEOPLE[0][0]])
            members = {}
            for email, _f, _l, role, _lang in PEOPLE:
                members[email], _ = Membership.objects.get_or_create(
                    organization=org, user=users[email], defaults={"role": role}
                )
            care, _ = Team.objects.get_or_create(
                organization=org, name="Customer care", defaults={"description": "Replies within the hour"}
            )
            care.members.set(
                [
                    members["lead@demo.smms.test"],
                    members["agent1@demo.smms.test"],
                    members["agent2@demo.smms.test"],
                ]
            )
            fr_team, _ = Team.objects.get_or_create(
                organization=org, name="Équipe France", defaults={"description": "French-speaking markets"}
            )
            fr_team.members.set([members["lead@demo.smms.test"], members["agent1@demo.smms.test"]])
            from moderation.demo import seed_demo_inbox

            seed_demo_inbox(
                lead=members["lead@demo.smms.test"], care=care, france=fr_team,
                agents=[members[e] for e in ("lead@demo.smms.test", "agent1@demo.smms.test", "agent2@demo.smms.test")],
            )  # fmt: skip
        owner = members[PEOPLE[0][0]]
        if settings.SMMS_SIMULATOR_URL and not org.social_accounts.exists():
            self.stdout.write(f"Connecting the demo accounts through the simulator at {settings.SMMS_SIMULATOR_URL}")
            accounts = connect_demo_accounts(owner, self.stdout.write)
            for name in GROUPS:
                group, _ = AccountGroup.objects.get_or_create(organization=org, name=name)
                group.accounts.set([a for a in accounts if ("uk" in a.handle.lower()) == (GROUPS[name] == "en")])
            corporate, _ = AccountGroup.objects.get_or_create(organization=org, name="Corporate")
            corporate.accounts.set(accounts)
            generate_demo_traffic()
            self.stdout.write(f"  {len(accounts)} accounts connected; mentions and comments are flowing in.")
            from publishing.demo import seed_demo_posts

            posts = seed_demo_posts(
                lead=members["lead@demo.smms.test"], agent=members["agent1@demo.smms.test"], accounts=accounts
            )
            self.stdout.write(f"  {len(posts)} demo posts: one publishes in two minutes, one awaits approval.")
        elif not settings.SMMS_SIMULATOR_URL:
            self.stdout.write("SMMS_SIMULATOR_URL is empty: connect real accounts under Settings → Social accounts.")
        self.stdout.write(self.style.SUCCESS(f"Demo organization “{org.name}” is ready. Sign in with:"))
        for email, _first, _last, role, _lang in PEOPLE:
            self.stdout.write(f"  {Role(role).label:<28} {email:<28} password: {DEMO_PASSWORD}")
