"""Fixtures of the integration tests that more than one module uses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import requests

from local.stand_ins.stack import LocalStack
from tests.integration.sandbox_requests import FIND, VERSION
from tests.integration.xray_traces import XRayDaemon


@pytest.fixture(scope="module")
def xray_daemon() -> Iterator[XRayDaemon]:
    """A listener standing in for the X-Ray daemon, one per module."""
    daemon = XRayDaemon()
    yield daemon
    daemon.close()


@pytest.fixture
def minimo(local_stack: LocalStack) -> Callable[..., requests.Response]:
    """GETs a contact from the sandbox Minimo with the stack's key unless told otherwise."""

    def get(email_path: str, key: str | None = None, **options: float) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or local_stack.minimo_api_key}"}
        url = f"{local_stack.minimo.url}/contacts/by-email/{email_path}"
        return requests.get(url, headers=headers, timeout=options.get("timeout", 5))

    return get


@pytest.fixture
def sales(local_stack: LocalStack) -> Callable[..., requests.Response]:
    """POSTs as the sales API wants it unless told otherwise: body as given, the version header,
    the key; `query` is sent as it is written."""

    def post(
        body: object = None,
        *,
        key: str | None = None,
        query: str = "",
        version: str | None = VERSION,
        path: str = FIND,
        data: bytes | None = None,
        **headers: str,
    ) -> requests.Response:
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        if key != "":
            headers["Authorization"] = f"Bearer {key or local_stack.sales_api_key}"
        if version:
            headers["OpenMRP-Version"] = version
        url = local_stack.sales.url + path + (f"?{query}" if query else "")
        if data is None and body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        return requests.post(url, data=data, headers=headers, timeout=5)

    return post
