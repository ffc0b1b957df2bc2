"""The signature schemes' names: what SIGNATURE_SCHEME and SIGNATURE_ROUTES accept.

The configuration's vocabulary, so it lives with the configuration; checks/signatures/
implements each scheme (schemes.py says which proof each name stands for).
"""

from __future__ import annotations

STANDARD = "standard-webhooks"
TYPEFORM = "typeform"
TALLY = "tally"
GITHUB = "github"
HUBSPOT = "hubspot"
WEBFLOW = "webflow"
FORMSTACK = "formstack"
WUFOO = "wufoo"
TOKEN = "token"  # noqa: S105 (a name, not a secret)
# SIGNATURE_SCHEME=auto: a route named after a tool uses that tool's scheme (ROUTE_PRESETS).
AUTO = "auto"

SCHEMES = (STANDARD, TYPEFORM, TALLY, GITHUB, HUBSPOT, WEBFLOW, FORMSTACK, WUFOO, TOKEN)
