"""The senders' signatures, for the tests: see local/webhook_signing.py."""

from local.webhook_signing import github, sign, standard_webhooks, tally, typeform

__all__ = ["github", "sign", "standard_webhooks", "tally", "typeform"]
