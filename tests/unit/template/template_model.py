"""template.yaml as CloudFormation sees it: after the SAM transform, for a set of parameter values.

No AWS account and no SAM CLI: the template is read with cfn-lint's loader (it knows !Ref, !Sub,
...) and transformed offline with aws-sam-translator. SAM leaves Conditions to CloudFormation, so
`effective()` then applies them for a set of parameter values, as CloudFormation would.

The checks in this folder are functions of a template, so that tests can prove each one fails on a
template that breaks it: a check that cannot fail is no check.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import cfn_yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parents[3]


FUNCTION_DIR = ROOT / "functions" / "enrich"


REQUIRED = {"SalesApiBaseUrl": "https://sales.example.com"}


EVERYTHING_ON = {
    **REQUIRED,
    "EnableFunctionUrl": "true",
    "IntakeQueueEnabled": "true",
    "EventBusName": "forms",
    "AlarmEmail": "ops@example.com",
    "ReservedConcurrency": "20",
}


PARAMETER_SETS = {
    "defaults": REQUIRED,
    "everything-standard": {**EVERYTHING_ON, "FifoOutput": "false"},
    "everything-fifo": {**EVERYTHING_ON, "FifoOutput": "true"},
    "existing-secret": {
        **REQUIRED,
        "ApiKeysSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys-AbCdEf",
    },
    "queued": {**REQUIRED, "WebhookMode": "queued"},
    "shared-pacing": {**REQUIRED, "PacingTableName": "shared-pacing"},
}


# --- loading and transforming ------------------------------------------------------------------
def load_sam_template() -> dict[str, Any]:
    return cfn_yaml.load(str(ROOT / "template.yaml"))


def sam_transform(sam_template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The SAM transform, offline: no managed-policy lookups (the template must need none)."""
    packaged = copy.deepcopy(sam_template)
    # What `sam package` does: local code paths become S3 locations.
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://artifacts/{props[key].strip('/')}.zip"
    translator = Translator(
        managed_policy_map={},
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name="eu-west-1"),
    )
    return translator.translate(packaged, parameter_values=dict(parameters))


class Intrinsics:
    """Ref, Fn::Equals/Not/And/Or/Contains and Condition, as CloudFormation evaluates them for these
    parameter values (the template's defaults for the rest)."""

    def __init__(self, cfn: dict[str, Any], parameters: dict[str, str]) -> None:
        self.values = {
            name: str(spec.get("Default", "")) for name, spec in cfn["Parameters"].items()
        }
        self.values.update(parameters)
        self.conditions_defined = cfn.get("Conditions", {})
        self.conditions: dict[str, bool] = {}

    def evaluate(self, expr: Any) -> Any:
        if not (isinstance(expr, dict) and len(expr) == 1):
            return expr
        [(key, arg)] = expr.items()
        if key == "Ref":
            return self.values[arg]
        if key == "Fn::Equals":
            return str(self.evaluate(arg[0])) == str(self.evaluate(arg[1]))
        if key == "Fn::Not":
            return not self.evaluate(arg[0])
        if key == "Fn::And":
            return all(self.evaluate(a) for a in arg)
        if key == "Fn::Or":
            return any(self.evaluate(a) for a in arg)
        if key == "Fn::Contains":  # Rules only: is the value one of the list's strings
            return str(self.evaluate(arg[1])) in [str(self.evaluate(v)) for v in arg[0]]
        if key == "Condition":
            return self.condition(arg)
        raise AssertionError(f"{key} is not evaluated here")

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.evaluate(self.conditions_defined[name]))
        return self.conditions[name]


def effective(cfn: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The template CloudFormation would deploy: conditions applied, AWS::NoValue removed."""
    condition = Intrinsics(cfn, parameters).condition

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, if_true, if_false = node["Fn::If"]
                return resolve(if_true if condition(name) else if_false)
            out = {k: resolve(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v != {"Ref": "AWS::NoValue"}}
        if isinstance(node, list):
            return [item for item in map(resolve, node) if item != {"Ref": "AWS::NoValue"}]
        return node

    result = copy.deepcopy(cfn)
    for section in ("Resources", "Outputs"):
        result[section] = {
            name: resolve(body)
            for name, body in result.get(section, {}).items()
            if "Condition" not in body or condition(body["Condition"])
        }
    return result


# --- checks ------------------------------------------------------------------------------------
def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy, each Fn::If branch included."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [
                policy["PolicyDocument"] for policy in _branches(props.get("Policies", []))
            ]
        elif resource["Type"] in (
            "AWS::IAM::Policy",
            "AWS::IAM::RolePolicy",
            "AWS::IAM::ManagedPolicy",
        ):
            documents = [props["PolicyDocument"]]
        for document in documents:
            for statement in _branches(document["Statement"]):
                yield name, statement


# --- helpers -----------------------------------------------------------------------------------
def _branches(value: Any) -> Iterator[Any]:
    """Every value an Fn::If could produce, lists flattened; AWS::NoValue dropped."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and set(item) == {"Fn::If"}:
            yield from _branches(item["Fn::If"][1])
            yield from _branches(item["Fn::If"][2])
        elif item != {"Ref": "AWS::NoValue"}:
            yield item


# --- webhook modes --------------------------------------------------------------------------------
def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]


def granted_on(template: dict[str, Any], action: str) -> list[Any]:
    return [
        resource
        for role, statement in policy_statements(template)
        if role == "EnrichFunctionRole" and action in _branches(statement["Action"])
        for resource in _branches(statement["Resource"])
    ]
