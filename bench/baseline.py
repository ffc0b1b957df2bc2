"""The naive way to do the job, for comparison: one event at a time, Minimo then the sales API
then SendMessage, a new connection for every request, no retries, no pacing, no cache. It speaks
the APIs' protocols correctly (OpenMRP's version header, the filters in the query); it just does
nothing clever."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import boto3
import requests

SALES_PATH = "/v1/sales/contacts/actions/find-by-email"


@dataclass(frozen=True)
class BaselineResult:
    failed: bool  # a lookup answered something other than found / not found: a partial event


class SequentialBaseline:
    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"])

    def handle(self, submission: dict[str, Any]) -> BaselineResult:
        env = self._env
        email = submission["email"]
        minimo = requests.get(
            f"{env['MINIMO_BASE_URL']}/contacts/by-email/{quote(email, safe='')}",
            headers={"Authorization": f"Bearer {env['MINIMO_API_KEY']}"},
            timeout=10,
        )
        failed = minimo.status_code not in (200, 404)
        matches: list[dict[str, Any]] = []
        url: str | None = f"{env['SALES_API_BASE_URL']}{SALES_PATH}?include=account"
        while url:
            answer = requests.post(
                url,
                json={"email": email},
                headers={
                    "Authorization": f"Bearer {env['SALES_API_KEY']}",
                    "OpenMRP-Version": env.get("SALES_API_VERSION", "1.0.forge-preview.8"),
                },
                timeout=10,
            )
            if answer.status_code != 200:
                failed = True
                break
            page = answer.json()
            matches += page["data"]
            next_page = page["page_info"]["next_page_url"]
            url = urljoin(env["SALES_API_BASE_URL"], next_page) if next_page else None
        contact = minimo.json().get("data") if minimo.status_code == 200 else None
        enriched = {
            "payload": submission,
            "email": email,
            "contact_id": contact["id"] if contact else None,
            "relationship": matches[0]["relationship"] if matches else None,
            "partial": failed,
        }
        self.sqs.send_message(QueueUrl=env["OUTPUT_QUEUE_URL"], MessageBody=json.dumps(enriched))
        return BaselineResult(failed)


def from_environment() -> SequentialBaseline:
    return SequentialBaseline(dict(os.environ))
