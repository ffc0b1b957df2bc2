"""Parameters that turn features on and off agree with what the function accepts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.template.template_model import EVERYTHING_ON, REQUIRED, Intrinsics, effective


# --- the public Function URL ---------------------------------------------------------------------
def rule_failures(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """The Rules CloudFormation would refuse a deployment with, for these parameter values."""
    evaluate = Intrinsics(template, parameters).evaluate

    return sorted(
        name
        for name, rule in template.get("Rules", {}).items()
        if evaluate(rule.get("RuleCondition", True))
        and not all(evaluate(a["Assert"]) for a in rule["Assertions"])
    )


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        (REQUIRED, False),
        ({**REQUIRED, "EnableFunctionUrl": "true"}, True),
        ({**REQUIRED, "EnableFunctionUrl": "true", "ReservedConcurrency": "50"}, False),
        ({**REQUIRED, "EnableFunctionUrl": "true", "ReservedConcurrency": "0"}, False),
        ({**REQUIRED, "ReservedConcurrency": "50"}, False),
        (EVERYTHING_ON, False),
    ],
)
def test_the_function_url_needs_reserved_concurrency(transformed, parameters, refused):
    failures = rule_failures(transformed["defaults"], parameters)
    assert failures == (["FunctionUrlNeedsReservedConcurrency"] if refused else [])
    if not refused and parameters.get("EnableFunctionUrl") == "true":
        template = effective(transformed["defaults"], parameters)
        function = template["Resources"]["EnrichFunction"]["Properties"]
        assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}


# --- signatures ----------------------------------------------------------------------------------
def test_signature_checks_are_on_unless_a_parameter_turns_them_off(sam_template, deployed):
    from settings import Settings

    parameter = sam_template["Parameters"]["AllowUnsignedWebhooks"]
    assert parameter["Default"] == "false"
    assert parameter["AllowedValues"] == ["true", "false"]
    for name, template in deployed.items():
        variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        assert variables["ALLOW_UNSIGNED_WEBHOOKS"] == {"Ref": "AllowUnsignedWebhooks"}, name
        assert variables["SIGNATURE_ROUTES"] == {"Ref": "SignatureRoutes"}, name
        assert variables["SIGNATURE_SCHEME"] == {"Ref": "SignatureScheme"}, name
    # What the function makes of the template's defaults: signatures required.
    defaults = {
        "OUTPUT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
        "SALES_API_BASE_URL": "https://sales.example.com",
        "ALLOW_UNSIGNED_WEBHOOKS": parameter["Default"],
        "SIGNATURE_SCHEME": sam_template["Parameters"]["SignatureScheme"]["Default"],
        "SIGNATURE_ROUTES": sam_template["Parameters"]["SignatureRoutes"]["Default"],
    }
    settings = Settings.from_env(defaults)
    assert settings.allow_unsigned_webhooks is False
    assert settings.signature_routes == ()


def assert_the_template_and_the_function_agree(
    sam_template: dict[str, Any],
    parameter: str,
    variable: str,
    value: str,
    template_accepts: bool,
    function_accepts: bool,
) -> None:
    """The parameter's AllowedPattern takes `value` or not, and the function starts with it or
    refuses it naming the variable, as expected."""
    from settings import ConfigurationError, Settings

    pattern = sam_template["Parameters"][parameter]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is template_accepts
    env = {"OUTPUT_QUEUE_URL": "q", "SALES_API_BASE_URL": "s", variable: value}
    if function_accepts:
        Settings.from_env(env)
    else:
        with pytest.raises(ConfigurationError, match=variable):
            Settings.from_env(env)


@pytest.mark.parametrize(
    ("value", "template_accepts", "function_accepts"),
    [
        ("", True, True),
        ("contact-form=tally", True, True),
        ("contact-form=tally,typeform=standard-webhooks", True, True),
        ("a=auto", False, False),
        ("tally", False, False),
        ("a=tally,A=github", True, False),  # one provider twice: only the function can tell
        ("a=tally,", False, True),  # the function ignores the empty item
    ],
)
def test_signature_routes_parameter_agrees_with_the_function(
    sam_template, value, template_accepts, function_accepts
):
    """Nothing CloudFormation accepts for SignatureRoutes stops the function, but a duplicate."""
    assert_the_template_and_the_function_agree(
        sam_template,
        "SignatureRoutes",
        "SIGNATURE_ROUTES",
        value,
        template_accepts,
        function_accepts,
    )


def test_the_template_offers_every_scheme_the_function_knows(sam_template):
    from settings import ROUTE_SIGNATURE_SCHEMES, SIGNATURE_SCHEMES

    parameters = sam_template["Parameters"]
    assert parameters["SignatureScheme"]["AllowedValues"] == list(SIGNATURE_SCHEMES)
    pattern = parameters["SignatureRoutes"]["AllowedPattern"]
    for scheme in ROUTE_SIGNATURE_SCHEMES:
        assert re.fullmatch(pattern, f"jotform={scheme},a.b~c={scheme}"), scheme


@pytest.mark.parametrize(
    ("value", "template_accepts", "function_accepts"),
    [
        ("", True, True),
        ("https://hooks.example.com", True, True),
        ("https://hooks.example.com/forms/", True, True),
        ("https://hooks.example.com:8443/a/b", True, True),
        ("http://127.0.0.1:3000", False, True),  # local runs only
        ("https://hooks.example.com/forms?x=1", False, False),
        ("hooks.example.com/forms", False, False),
        ("https://hooks example.com", False, False),
    ],
)
def test_webhook_base_url_parameter_agrees_with_the_function(
    sam_template, deployed, value, template_accepts, function_accepts
):
    assert_the_template_and_the_function_agree(
        sam_template,
        "WebhookBaseUrl",
        "WEBHOOK_BASE_URL",
        value,
        template_accepts,
        function_accepts,
    )
    for template in deployed.values():
        variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"]
        assert variables["Variables"]["WEBHOOK_BASE_URL"] == {"Ref": "WebhookBaseUrl"}
