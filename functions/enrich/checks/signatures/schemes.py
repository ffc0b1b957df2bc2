"""The signature schemes by name, and which form tool's route uses which one by default.

Each scheme is written from its publisher's documentation (cited where it is verified):

| scheme | proof | module |
| --- | --- | --- |
| standard-webhooks | HMAC of id.timestamp.body (standardwebhooks.com) | timestamped |
| hubspot | HubSpot's v3: HMAC of method + URI + body + timestamp (ms) | timestamped |
| webflow | HMAC of timestamp:body, hex, ms timestamps | timestamped |
| typeform, tally, github, formstack | HMAC of the body alone | body_only |
| token | the route's secret as ?token= or Authorization: Bearer | shared_secrets |
| wufoo | the route's secret as the HandshakeKey form field | shared_secrets |

The names themselves are the configuration's (settings/signature_scheme_names.py); this module
imports nothing else, so that naming a scheme loads no verifier.
"""

from __future__ import annotations

from settings import signature_scheme_names as names

# The route label (/webhooks/<label>) → the scheme its tool proves itself with. Tools that cannot
# sign get `token`: each lets the URL (and some a header) be set, so a secret can travel there.
ROUTE_PRESETS: dict[str, str] = {
    names.TYPEFORM: names.TYPEFORM,
    names.TALLY: names.TALLY,
    names.GITHUB: names.GITHUB,
    names.HUBSPOT: names.HUBSPOT,
    names.WEBFLOW: names.WEBFLOW,
    names.FORMSTACK: names.FORMSTACK,
    names.WUFOO: names.WUFOO,
    # Jotform's webhooks carry no signature and no custom header: the token goes in the URL.
    "jotform": names.TOKEN,
    # Paperform: "We do not currently support the addition ... of headers. If ... you require
    # authorization for your endpoint, ... include it in the webhook URL's query string."
    # (paperform.co/help/articles/how-to-use-webhooks)
    "paperform": names.TOKEN,
    # Cognito Forms posts JSON to the "Submit Entry Endpoint" URL; no signature is documented
    # (cognitoforms.com/support/66/data-integration/webhooks).
    "cognito-forms": names.TOKEN,
    # Fillout's webhook integration posts to the URL you enter (fillout.com/help/webhook).
    "fillout": names.TOKEN,
    # Zoho Forms' webhooks take custom headers, e.g. Authorization
    # (zoho.com/forms/help/integrations/webhooks.html).
    "zoho-forms": names.TOKEN,
    # WordPress form plugins: Gravity Forms' Webhooks Add-On sets request headers, e.g.
    # "Authorization: Bearer ..." (docs.gravityforms.com/webhooks-feed-meta); WPForms' Webhooks
    # addon sets request headers too.
    "gravity-forms": names.TOKEN,
    "wpforms": names.TOKEN,
    # Google Forms sends nothing by itself: an Apps Script's UrlFetchApp call sets the headers.
    "google-forms": names.TOKEN,
    # Microsoft Forms through Power Automate: its HTTP action sets any header.
    "microsoft-forms": names.TOKEN,
    # Webhooks by Zapier's POST step sets headers and the URL.
    "zapier": names.TOKEN,
}

# Timestamped schemes refuse a request older (or newer) than this: replays expire.
TOLERANCE_SECONDS = 5 * 60


def preset_for(label: str) -> str | None:
    return ROUTE_PRESETS.get(label)
