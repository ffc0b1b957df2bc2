"""The composition root (runtime.py): the container's parts are built once per configuration
and rebuilt, freeing the old ones' threads, when a variable they were built from changes; the
optional parts exist exactly when their settings ask for them."""

from __future__ import annotations

import os

import pytest

from forwarding.ledger import DeliveryLedger
from forwarding.queue_sender import QueueSender
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
        first.sender.in_background()([], None, None)
    assert second.sender.in_background()([], None, None).result(5) == {}


def test_a_forgotten_runtime_is_built_afresh(function_env):
    first = current_runtime()
    forget_current_runtime()
    assert current_runtime() is not first


def test_the_runtime_follows_the_environment_it_is_given(stack, function_env):
    env = {**os.environ, "OUTPUT_QUEUE_URL": stack.fifo_queue_url}
    assert current_runtime(env).sender.queue_url == stack.fifo_queue_url
    assert runtime_is_built(env)
    assert not runtime_is_built()  # the container's own environment names another queue


def test_without_their_settings_the_optional_parts_are_absent(function_env):
    function_env(INTAKE_SIGNING_KEY=None)
    runtime = current_runtime()
    optional = (runtime.ledger, runtime.queued, runtime.intake_signing)
    assert optional == (None, None, None)


def test_the_idempotency_table_brings_the_ledger(stack, function_env):
    function_env(IDEMPOTENCY_TABLE=stack.table_name)
    runtime = current_runtime()
    assert isinstance(runtime.ledger, DeliveryLedger)
    assert runtime.queued is None  # only queued mode accepts webhooks


def test_queued_mode_brings_the_intake_queue_and_its_signing(stack, function_env):
    function_env(INTAKE_QUEUE_URL=stack.intake_queue_url, IDEMPOTENCY_TABLE=stack.table_name)
    runtime = current_runtime()
    assert runtime.queued is not None
    assert isinstance(runtime.queued.intake, QueueSender)
    assert runtime.queued.intake.queue_url == stack.intake_queue_url
    assert isinstance(runtime.queued.acceptances, DeliveryLedger)
    assert runtime.queued.signing is runtime.intake_signing is not None
