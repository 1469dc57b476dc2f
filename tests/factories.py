from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import AccountGroup, Membership, Organization, Platform, SocialAccount, Team, User
from accounts.roles import Role

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.COMMUNITY_MANAGER


class SocialAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialAccount

    organization = factory.SubFactory(OrganizationFactory)
    platform = Platform.MASTODON
    remote_id = factory.Sequence(lambda n: f"remote-{n}")
    handle = factory.Sequence(lambda n: f"brand_{n}")
    display_name = factory.Faker("company")
    access_token = factory.Sequence(lambda n: f"access-token-secret-{n}")
    refresh_token = factory.Sequence(lambda n: f"refresh-token-secret-{n}")
    token_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=2))


class AccountGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountGroup

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
