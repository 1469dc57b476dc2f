"""The SMMS-Signature scheme: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">, Stripe-style."""

from __future__ import annotations

import hashlib
import hmac

from crm_bridge.services import webhook_signature, webhook_signature_verify

SECRET = "whsec_abc"
BODY = b'{"id":"e1","event":"alert.opened"}'
T = 1_795_000_000


def test_the_signature_is_an_hmac_sha256_of_the_timestamp_and_the_raw_body():
    expected = hmac.new(SECRET.encode(), b"1795000000." + BODY, hashlib.sha256).hexdigest()
    assert webhook_signature(SECRET, T, BODY) == f"t=1795000000,v1={expected}"


def test_it_verifies_with_the_secret():
    assert webhook_signature_verify(SECRET, webhook_signature(SECRET, T, BODY), BODY, now=T + 10)


def test_it_fails_when_the_body_changes():
    header = webhook_signature(SECRET, T, BODY)
    assert not webhook_signature_verify(SECRET, header, BODY.replace(b"opened", b"resolved"), now=T)
    assert not webhook_signature_verify(SECRET, header, BODY + b" ", now=T)


def test_it_fails_when_the_secret_changes():
    assert not webhook_signature_verify("whsec_abd", webhook_signature(SECRET, T, BODY), BODY, now=T)


def test_it_fails_outside_the_tolerance_window_so_a_captured_request_cannot_be_replayed():
    header = webhook_signature(SECRET, T, BODY)
    assert webhook_signature_verify(SECRET, header, BODY, now=T + 300)
    assert not webhook_signature_verify(SECRET, header, BODY, now=T + 301)
    assert not webhook_signature_verify(SECRET, header, BODY, now=T - 301)
    assert webhook_signature_verify(SECRET, header, BODY, now=T + 3000, tolerance=3600)


def test_a_forged_timestamp_breaks_the_signature():
    header = webhook_signature(SECRET, T, BODY).replace(f"t={T}", f"t={T + 60}")
    assert not webhook_signature_verify(SECRET, header, BODY, now=T + 60)


def test_malformed_headers_are_refused():
    good = webhook_signature(SECRET, T, BODY)
    for header in ["", "garbage", good.split(",")[1], good.split(",")[0], f"t=abc,{good.split(',')[1]}", f"{good},t=1"]:
        assert not webhook_signature_verify(SECRET, header, BODY, now=T), header


def test_one_matching_signature_among_several_is_enough():
    good = webhook_signature(SECRET, T, BODY)
    assert webhook_signature_verify(SECRET, f"{good},v1={'0' * 64}", BODY, now=T)
