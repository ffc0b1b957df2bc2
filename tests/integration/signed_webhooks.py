"""Signed webhooks as the signature tests send them: the body, the secrets, each HTTP source's
event builder, and what an answer and the stack show."""

from __future__ import annotations

import json

from local.stand_ins.lambda_events import function_url_event, http_api_event, rest_api_event

BODY = b'{"email": "customer@example.com", "event_id": "evt-1"}'


SECRET = "whsec_" + "c2lnbmluZyBzZWNyZXQgZm9yIHRlc3Rz"


# What the template generates for webhook_secret: 48 letters and digits, not a whsec_ secret.
PLAIN_SECRET = "Q7dV2mK9xR4tL8pW1nB6cJ3hF5gZ0sY7aE2uN9vM4kT8rP1w"


BUILDERS = {
    "http-api": http_api_event,
    "function-url": function_url_event,
    "rest-api": rest_api_event,
}


def status_of(result: dict) -> tuple[int, str | None]:
    body = json.loads(result["body"])
    return result["statusCode"], body.get("error", {}).get("code")


def nothing_went_out(stack) -> bool:
    return stack.receive_all() == [] and stack.minimo.requests() == stack.sales.requests() == []


# --- fail closed: a deployed function requires signatures unless explicitly allowed -------------
def keys_only_secret(stack) -> str:
    """A user-supplied secret that holds the API keys and no webhook secret."""
    secretsmanager = stack.client("secretsmanager")
    keys_only = {"minimo_api_key": stack.minimo_api_key, "sales_api_key": stack.sales_api_key}
    try:
        return secretsmanager.create_secret(
            Name="user-keys-only", SecretString=json.dumps(keys_only)
        )["ARN"]
    except secretsmanager.exceptions.ResourceExistsException:
        return secretsmanager.describe_secret(SecretId="user-keys-only")["ARN"]
