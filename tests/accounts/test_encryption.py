"""Tokens are encrypted at rest: the database holds ciphertext only, and keys can be rotated."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.models import SocialAccount
from smms.lib import crypto
from tests.factories import SocialAccountFactory


def _raw_tokens(account_id: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM accounts_socialaccount WHERE id = %s", [account_id])
        return cursor.fetchone()


def test_token_columns_hold_no_plaintext(db):
    account = SocialAccountFactory(access_token="EAAB-very-secret-access", refresh_token="rt-very-secret-refresh")
    raw_access, raw_refresh = _raw_tokens(account.id)
    assert "very-secret" not in raw_access
    assert "very-secret" not in raw_refresh
    assert raw_access.startswith(crypto.PREFIX)
    reloaded = SocialAccount.objects.get(id=account.id)
    assert (reloaded.access_token, reloaded.refresh_token) == ("EAAB-very-secret-access", "rt-very-secret-refresh")


def test_the_same_token_encrypts_differently_each_time(db):
    a = SocialAccountFactory(access_token="same")
    b = SocialAccountFactory(access_token="same")
    assert _raw_tokens(a.id)[0] != _raw_tokens(b.id)[0]


def test_rotation_re_encrypts_with_the_new_key_and_old_keys_can_then_go(db, settings):
    old_keys = list(settings.SMMS_ENCRYPTION_KEYS)
    account = SocialAccountFactory(access_token="tok-123", refresh_token="")
    before = _raw_tokens(account.id)[0]
    new_key = Fernet.generate_key().decode()

    settings.SMMS_ENCRYPTION_KEYS = [new_key, *old_keys]
    assert SocialAccount.objects.get(id=account.id).access_token == "tok-123"  # old ciphertext still reads
    call_command("rotate_encryption_keys", verbosity=0)
    after, refresh_after = _raw_tokens(account.id)
    assert after != before
    assert refresh_after == ""  # "no token" stays visibly empty

    settings.SMMS_ENCRYPTION_KEYS = [new_key]
    assert SocialAccount.objects.get(id=account.id).access_token == "tok-123"
    settings.SMMS_ENCRYPTION_KEYS = old_keys
    with pytest.raises(crypto.DecryptionError):
        SocialAccount.objects.get(id=account.id)
