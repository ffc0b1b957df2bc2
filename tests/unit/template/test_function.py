"""The function and what it owns: its settings, secret, tables, route, URL, outputs and layer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.template.template_model import _branches, policy_statements, resources
from tests.unit.template.test_iam import PACING_TABLE_ARN


# --- the function ------------------------------------------------------------------------------
def test_the_function(everything):
    function = everything["Resources"]["EnrichFunction"]["Properties"]
    assert function["Handler"] == "app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 512
    assert function["Timeout"] == 15
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    [layer] = function["Layers"]
    assert layer["Ref"].startswith("DependenciesLayer")  # SAM suffixes a content hash


def test_reserved_concurrency_is_off_by_default(deployed):
    function = deployed["defaults"]["Resources"]["EnrichFunction"]["Properties"]
    assert "ReservedConcurrentExecutions" not in function


def test_the_secret(deployed):
    created = deployed["defaults"]["Resources"]["ApiKeysSecret"]["Properties"]
    generated = created["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "webhook_secret"
    assert set(json.loads(generated["SecretStringTemplate"])) == {"minimo_api_key", "sales_api_key"}
    existing = deployed["existing-secret"]
    assert "ApiKeysSecret" not in existing["Resources"]
    variables = existing["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["API_KEYS_SECRET_ARN"] == {"Ref": "ApiKeysSecretArn"}


def assert_the_shape_both_tables_have(table: dict[str, Any]) -> None:
    """Key `id`, TTL on `expiration` (what Powertools' idempotency utility expects), encrypted."""
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_the_idempotency_table(everything):
    table = everything["Resources"]["IdempotencyTable"]["Properties"]
    assert_the_shape_both_tables_have(table)
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("parameters", ["defaults", "everything-standard", "queued"])
def test_the_pacing_table_is_the_idempotency_tables_shape_and_paces_the_fleet(deployed, parameters):
    template = deployed[parameters]
    table = template["Resources"]["PacingTable"]["Properties"]
    assert_the_shape_both_tables_have(table)
    variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PACING_TABLE"] == {"Ref": "PacingTable"}


def test_an_existing_pacing_table_is_used_instead_of_a_new_one(deployed):
    shared = deployed["shared-pacing"]
    assert "PacingTable" not in shared["Resources"]
    variables = shared["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PACING_TABLE"] == {"Ref": "PacingTableName"}
    [grant] = [
        s
        for _, s in policy_statements(shared)
        if "dynamodb:UpdateItem" in _branches(s["Action"]) and s.get("Sid") == "UsePacingTable"
    ]
    assert grant["Resource"] == {"Fn::Sub": PACING_TABLE_ARN}
    assert sorted(grant["Action"]) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]


@pytest.mark.parametrize(
    ("parameters", "containers"),
    [
        ("defaults", {"Ref": "IntakeMaximumConcurrency"}),
        ("everything-standard", {"Ref": "ReservedConcurrency"}),
    ],
)
def test_the_fallback_rate_divides_by_the_most_containers_that_can_run(
    deployed, parameters, containers
):
    """Without the table, each container paces itself at the rate over this many: the reserved
    concurrency when there is one, else the intake mapping's MaximumConcurrency."""
    function = deployed[parameters]["Resources"]["EnrichFunction"]["Properties"]
    assert function["Environment"]["Variables"]["PACING_FALLBACK_CONTAINERS"] == containers


def test_the_webhook_route(everything):
    routes = resources(everything, "AWS::ApiGatewayV2::Route")
    if routes:
        assert [r["Properties"]["RouteKey"] for r in routes.values()] == [
            "POST /webhooks/{provider}"
        ]
    else:  # SAM expresses HttpApi routes in the API's OpenAPI body
        [api] = resources(everything, "AWS::ApiGatewayV2::Api").values()
        paths = api["Properties"]["Body"]["paths"]
        assert list(paths) == ["/webhooks/{provider}"]
        assert list(paths["/webhooks/{provider}"]) == ["post"]
    [stage] = resources(everything, "AWS::ApiGatewayV2::Stage").values()
    assert "DestinationArn" in stage["Properties"]["AccessLogSettings"]
    throttling = stage["Properties"]["DefaultRouteSettings"]
    assert throttling["ThrottlingBurstLimit"] > 0
    assert throttling["ThrottlingRateLimit"] > 0


def test_the_function_url_is_public_only_when_enabled(deployed):
    [url] = resources(deployed["everything-standard"], "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "NONE"
    assert not resources(deployed["defaults"], "AWS::Lambda::Url")
    assert not [
        p
        for p in resources(deployed["defaults"], "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    ]


def test_the_outputs(deployed):
    always = {
        "WebhookUrl",
        "FunctionArn",
        "OutputQueueUrl",
        "OutputQueueArn",
        "DeadLetterQueueUrl",
        "IdempotencyTableName",
        "ApiKeysSecretArn",
        "AlarmTopicArn",
        "DashboardName",
    }
    assert set(deployed["defaults"]["Outputs"]) >= always
    assert not {"FunctionUrl", "IntakeQueueUrl"} & set(deployed["defaults"]["Outputs"])
    assert set(deployed["everything-standard"]["Outputs"]) >= always | {
        "FunctionUrl",
        "IntakeQueueUrl",
    }
    url = deployed["defaults"]["Outputs"]["WebhookUrl"]["Value"]["Fn::Sub"]
    assert url.endswith("/webhooks/{provider}")


def test_the_dependencies_layer_is_built_for_arm64_python313(sam_template):
    layer = sam_template["Resources"]["DependenciesLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    props = layer["Properties"]
    assert props["ContentUri"] == "layers/dependencies/"
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == ["arm64"]
    assert (
        sam_template["Resources"]["EnrichFunction"]["Properties"]["CodeUri"] == "functions/enrich/"
    )
