"""Tests for billing.logging.redact: the log filter that masks credentials before shipping logs.

Checksummed formats (GitHub, npm, Sigil) are only masked when the checksum verifies, so the
fixtures below use random lookalikes with broken checksums to make sure we do not over-redact
order references that happen to share a prefix.
"""
import logging
import secrets
import string
import zlib

import pytest

from billing.logging.redact import RedactingFilter, base62_crc32

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase

BROKEN_CHECKSUM = [
    "ghp_POCcBEF8m5GkOXhiY5ydVCQkdbDovoNqOthD",
    "gho_9TgBsaL5yjXhn5UKP2HZ0RDNxY5TXvCcT3M8",
    "ghu_DywjAloScxByWgB271A0hqQ5xRe59J3vHWLi",  # one character changed
    "ghs_OL8XPCvo3eDSGYPqm8MyiUx38ltjcnl9cyQ7",
    "ghr_679IBBQ9xDuZKnVpEsG7sqNBh43I0b3aNdFo",
    "npm_LDOPLqpPOQqNY5Bu2xNksPnSEJsfEfkJ6tik",
    "npm_KDmpyhjFOISmz5uSQzwG4WIwhtKoUY44xBG7",
    "sgs_vGRuIQzgqdAIOhhcgdgjSCOLuCM0gMiIzsCvggAo1vNqHh",
    "sgj_QlmtjEQttMgP07WYC0XJyhlAWopSxDGlslQTZXednermcn",
]
TRUNCATED = "sgs_ICl16pJ4b2z3QJNZeyjbaICm6toPPoBGTL8u8vSt1WX9N"


def make_token(prefix: str, length: int = 30) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return prefix + body + base62_crc32(body)


@pytest.fixture
def log_filter():
    return RedactingFilter()


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("billing", logging.INFO, __file__, 1, message, None, None)


def test_crc_matches_zlib():
    body = "".join(secrets.choice(ALPHABET) for _ in range(30))
    value = zlib.crc32(body.encode())
    digits = ""
    for _ in range(6):
        digits = ALPHABET[value % 62] + digits
        value //= 62
    assert base62_crc32(body) == digits


@pytest.mark.parametrize("prefix,length", [("ghp_", 30), ("npm_", 30), ("sgs_", 40)])
def test_valid_tokens_are_masked(log_filter, prefix, length):
    token = make_token(prefix, length)
    record = _record(f"calling upstream with {token}")
    log_filter.filter(record)
    assert token not in record.getMessage()
    assert prefix + "****" in record.getMessage()


@pytest.mark.parametrize("lookalike", BROKEN_CHECKSUM)
def test_broken_checksum_is_left_alone(log_filter, lookalike):
    record = _record(f"order note: {lookalike}")
    log_filter.filter(record)
    assert lookalike in record.getMessage()


def test_truncated_token_is_left_alone(log_filter):
    record = _record(f"ref={TRUNCATED}")
    log_filter.filter(record)
    assert TRUNCATED in record.getMessage()


def test_password_fields_are_masked(log_filter):
    password = secrets.token_urlsafe(12)
    record = _record(f'payload={{"email": "ada@acme.test", "password": "{password}"}}')
    log_filter.filter(record)
    assert password not in record.getMessage()
    assert '"password": "********"' in record.getMessage()
