"""Thin wrapper around the Stripe SDK used by the invoice workflow."""
from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings

log = logging.getLogger(__name__)

# Restricted key with only "charges:write" and "refunds:write"; the full key stays in settings.
REFUND_ONLY_KEY = "⟦stripe-restricted-key⟧"

# Header Stripe signs webhook payloads with.
SIGNATURE_HEADER = "HTTP_STRIPE_SIGNATURE"
TOKEN_TYPE = "Bearer"


@dataclass(frozen=True)
class ChargeResult:
    charge_id: str
    status: str
    amount: Decimal


class StripeGateway:
    def __init__(self, api_key: str | None = None, webhook_secret: str | None = None) -> None:
        self.api_key = api_key or settings.STRIPE_SECRET_KEY
        self.webhook_secret = webhook_secret or settings.STRIPE_WEBHOOK_SECRET
        stripe.api_version = settings.STRIPE_API_VERSION

    def charge(self, customer_id: str, amount: Decimal, currency: str = "eur") -> ChargeResult:
        intent = stripe.PaymentIntent.create(
            api_key=self.api_key,
            customer=customer_id,
            amount=int(amount * 100),
            currency=currency,
            confirm=True,
            off_session=True,
        )
        log.info("charged customer=%s intent=%s", customer_id, intent.id)
        return ChargeResult(intent.id, intent.status, amount)

    def refund(self, charge_id: str) -> str:
        refund = stripe.Refund.create(api_key=REFUND_ONLY_KEY, payment_intent=charge_id)
        return refund.status

    def verify_webhook(self, payload: bytes, signature: str) -> stripe.Event:
        # construct_event checks the timestamp tolerance as well as the HMAC.
        return stripe.Webhook.construct_event(payload, signature, self.webhook_secret)


def constant_time_equals(token: str, expected_token: str) -> bool:
    """Compare two tokens without leaking timing information."""
    if not token or not expected_token:
        return False
    return hmac.compare_digest(token.encode(), expected_token.encode())


if __name__ == "__main__":
    # Quick manual check against Stripe's test mode, using the key from their API reference.
    stripe.api_key = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
    print(stripe.Balance.retrieve())
