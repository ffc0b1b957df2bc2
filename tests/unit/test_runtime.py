"""The composition root (runtime.py): the container's parts are built once per configuration
and rebuilt, freeing the old ones' threads, when a variable they were built from changes; the
optional parts exist exactly when their settings ask for them."""

from __future__ import annotations

import os

import pytest

from forwarding.ledger import DeliveryLedger
from forwarding.queue_sender import QueueSender
from forwarding.recovery_wakeups import RecoveryWakeups
from lookups.partial_answers import PartialAnswers
from runtime import current_runtime, forget_current_runtime, runtime_is_built


def test_the_parts_are_built_once_per_configuration(function_env):
    assert not runtime_is_built()
    first = current_runtime()
    assert runtime_is_built()
    assert current_runtime() is first


@pytest.mark.parametrize("variable", ["MAX_CONCURRENCY", "AWS_ENDPOINT_URL"])
def test_a_changed_variable_rebuilds_them_and_frees_the_old_threads(stack, function_env, variable):
    first = current_runtime()
    function_env(**{variable: "7" if variable == "MAX_CONCURRENCY" else stack.moto_url + "/"})
    assert not runtime_is_built()
    second = current_runtime()
    assert second is not first
    with pytest.raises(RuntimeError, match="shutdown"):
        first.forwarding.sender.in_background()([], None, None)
    assert second.forwarding.sender.in_background()([], None, None).result(5) == {}


def test_a_forgotten_runtime_is_built_afresh(function_env):
    first = current_runtime()
    forget_current_runtime()
    assert current_runtime() is not first


def test_the_runtime_follows_the_environment_it_is_given(stack, function_env):
    env = {**os.environ, "OUTPUT_QUEUE_URL": stack.fifo_queue_url}
    assert current_runtime(env).forwarding.sender.queue_url == stack.fifo_queue_url
    assert runtime_is_built(env)
    assert not runtime_is_built()  # the container's own environment names another queue


def test_without_their_settings_the_optional_parts_are_absent(function_env):
    function_env(INTAKE_SIGNING_KEY=None)
    runtime = current_runtime()
    forwarding = runtime.forwarding
    optional = (forwarding.ledger, forwarding.answers, forwarding.wakeups)
    assert optional == (None, None, None)
    assert (runtime.http_intake.queued, runtime.sqs_intake.intake_signing) == (None, None)
    assert runtime.sqs_intake.wakeups is None


def test_the_idempotency_table_brings_the_ledger(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)
    runtime = current_runtime()
    forwarding = runtime.forwarding
    assert isinstance(forwarding.ledger, DeliveryLedger)
    assert isinstance(forwarding.answers, PartialAnswers)
    assert isinstance(forwarding.wakeups, RecoveryWakeups)
    assert runtime.sqs_intake.wakeups is forwarding.wakeups  # one view of the outage notes
    assert runtime.http_intake.queued is None  # only queued mode accepts webhooks


def test_queued_mode_brings_the_intake_queue_and_its_signing(stack, function_env):
    function_env(INTAKE_QUEUE_URL=stack.intake_queue_url, IDEMPOTENCY_TABLE=stack.table_name)
    runtime = current_runtime()
    queued = runtime.http_intake.queued
    assert queued is not None
    assert isinstance(queued.intake, QueueSender)
    assert queued.intake.queue_url == stack.intake_queue_url
    assert isinstance(queued.acceptances, DeliveryLedger)
    assert queued.signing is runtime.sqs_intake.intake_signing is not None


def test_every_intake_forwards_through_the_one_forwarding_path_with_the_settings_values(
    stack, function_env
):
    function_env(
        OUTPUT_QUEUE_URL=stack.fifo_queue_url,
        RELATIONSHIP_PRECEDENCE="customer,self,supplier",
        LOOKUP_RETRY_WINDOW_SECONDS="30",
        INTAKE_MAX_RECEIVE_COUNT="7",
        REQUIRE_EMAIL="true",
        MAX_BODY_BYTES="1000",
        WEBHOOK_BASE_URL="https://hooks.example.com",
        SIGNATURE_ROUTES="hubspot=hubspot",
    )
    runtime = current_runtime()
    forwarding = runtime.forwarding
    intakes = (runtime.http_intake, runtime.sqs_intake, runtime.invoke_intake)
    assert all(intake.forwarding is forwarding for intake in intakes)
    assert len({id(intake.email_finder) for intake in intakes}) == 1
    assert all(intake.require_email for intake in intakes)
    assert forwarding.relationship_precedence == ("customer", "self", "supplier")
    assert (forwarding.fifo, forwarding.retry_window_seconds, forwarding.max_receive_count) == (
        True,
        30.0,
        7,
    )
    http = runtime.http_intake
    assert (http.max_body_bytes, http.webhook_base_url) == (1000, "https://hooks.example.com")
    assert http.signature_routes == (("hubspot", "hubspot"),)
    assert http.unsigned_allowed  # a local run: no API_KEYS_SECRET_ARN


def test_a_deployed_function_refuses_unsigned_webhooks_unless_they_are_allowed(function_env):
    function_env(API_KEYS_SECRET_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:k")
    assert not current_runtime().http_intake.unsigned_allowed
    function_env(ALLOW_UNSIGNED_WEBHOOKS="true")
    assert current_runtime().http_intake.unsigned_allowed
