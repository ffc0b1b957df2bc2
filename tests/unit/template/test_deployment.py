"""Deployments: every source calls the live alias, versions are published and shifted gradually."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.template.template_model import REQUIRED, effective, resources, sam_transform
from tests.unit.template.test_alarms_and_dashboard import alarmed_metrics

# --- safe deploys: the live alias, gradual shifts, rollback ---------------------------------------
ALIAS = {"Ref": "EnrichFunctionAliaslive"}


def sources_off_the_alias(template: dict[str, Any]) -> list[str]:
    """Every event source, invoke permission and the Function URL that does not target the alias."""
    off: list[str] = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind in ("AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping"):
            target = props["FunctionName"]
        elif kind == "AWS::Lambda::Url":
            target = props["TargetFunctionArn"]
        elif kind == "AWS::Events::Rule":
            target = [t["Arn"] for t in props["Targets"]]
            target = target[0] if len(target) == 1 else target
        elif kind == "AWS::ApiGatewayV2::Api" and "Body" in props:
            integrations = [
                operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                for path in props["Body"]["paths"].values()
                for operation in path.values()
            ]
            target = ALIAS if all("${EnrichFunctionAliaslive}" in i for i in integrations) else None
        elif kind == "AWS::Lambda::EventInvokeConfig":
            target = ALIAS if props.get("Qualifier") == "live" else None
        else:
            continue
        if target != ALIAS:
            off.append(name)
    return sorted(off)


def test_every_source_calls_the_live_alias(deployed):
    for name, template in deployed.items():
        assert sources_off_the_alias(template) == [], name
    everything = deployed["everything-standard"]
    kinds = {everything["Resources"][n]["Type"] for n in everything["Resources"]}
    assert {
        "AWS::Lambda::Url",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Events::Rule",
        "AWS::Lambda::EventInvokeConfig",
    } <= kinds
    assert everything["Outputs"]["FunctionArn"]["Value"] == ALIAS
    [alias] = resources(everything, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "live"


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        ("IntakeEventSourceMapping", "FunctionName"),
        ("EnrichFunctionUrl", "TargetFunctionArn"),
        ("FormSubmittedRulePermission", "FunctionName"),
    ],
)
def test_the_alias_check_catches_latest(everything, resource, field):
    broken = copy.deepcopy(everything)
    broken["Resources"][resource]["Properties"][field] = {"Ref": "EnrichFunction"}
    assert sources_off_the_alias(broken) == [resource]


def test_every_property_change_publishes_a_version(sam_template):
    function = sam_template["Resources"]["EnrichFunction"]["Properties"]
    assert function["AutoPublishAlias"] == "live"
    # Otherwise only a code change publishes one, and a changed setting never reaches the alias.
    assert function["AutoPublishAliasAllProperties"] is True


def test_deployments_shift_gradually_and_roll_back_on_the_alarms(sam_template, deployed):
    default_type = sam_template["Parameters"]["DeploymentType"]["Default"]
    assert default_type.startswith(("Canary", "Linear"))
    for name, template in deployed.items():
        [group] = resources(template, "AWS::CodeDeploy::DeploymentGroup").values()
        props = group["Properties"]
        config = props["DeploymentConfigName"]["Fn::Sub"]
        assert config[0] == "CodeDeployDefault.Lambda${ConfigName}", name
        assert config[1]["ConfigName"] == default_type, name
        assert props["AlarmConfiguration"] == {
            "Enabled": True,
            "Alarms": [
                {"Name": {"Ref": "FunctionErrorsAlarm"}},
                {"Name": {"Ref": "ForwardFailuresAlarm"}},
            ],
        }
        assert "DEPLOYMENT_STOP_ON_ALARM" in props["AutoRollbackConfiguration"]["Events"]
        assert props["ServiceRoleArn"] == {"Fn::GetAtt": ["CodeDeployRole", "Arn"]}
        [alias] = resources(template, "AWS::Lambda::Alias").values()
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["DeploymentGroupName"] == {
            "Ref": next(iter(resources(template, "AWS::CodeDeploy::DeploymentGroup")))
        }
    watched = alarmed_metrics(deployed["defaults"])
    assert watched["FunctionErrorsAlarm"] == {"Errors"}
    assert watched["ForwardFailuresAlarm"] == {"ForwardFailures"}


@pytest.mark.parametrize(
    ("enabled", "apply_on"), [("false", "None"), ("true", "PublishedVersions")]
)
def test_snapstart_only_when_asked(sam_template, enabled, apply_on):
    parameters = {**REQUIRED, "EnableSnapStart": enabled}
    template = effective(sam_transform(sam_template, parameters), parameters)
    function = template["Resources"]["EnrichFunction"]["Properties"]
    assert function["SnapStart"] == {"ApplyOn": apply_on}
    assert sam_template["Parameters"]["EnableSnapStart"]["Default"] == "false"
