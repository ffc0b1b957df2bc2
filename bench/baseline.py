"""The naive way to do the job, for comparison: one event at a time, Minimo then the sales API
then SendMessage, a new connection for every request, no retries, no cache."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urljoin

import boto3
import requests


class SequentialBaseline:
    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"])

    def handle(self, submission: dict[str, Any]) -> None:
        env = self._env
        email = submission["email"]
        minimo = requests.get(
            f"{env['MINIMO_BASE_URL']}/contacts/by-email/{quote(email, safe='')}",
            headers={"Authorization": f"Bearer {env['MINIMO_API_KEY']}"},
            timeout=10,
        )
        matches: list[dict[str, Any]] = []
        url: str | None = f"{env['SALES_API_BASE_URL']}/v1/sales/contacts/actions/find-by-email"
        while url:
            page = requests.post(
                url,
                json={"email": email},
                headers={"Authorization": f"Bearer {env['SALES_API_KEY']}"},
                timeout=10,
            ).json()
            matches += page["data"]
            next_page = page["page_info"]["next_page_url"]
            url = urljoin(env["SALES_API_BASE_URL"], next_page) if next_page else None
        contact = minimo.json().get("data") if minimo.status_code == 200 else None
        enriched = {
            "payload": submission,
            "email": email,
            "contact_id": contact["id"] if contact else None,
            "relationship": matches[0]["relationship"] if matches else None,
        }
        self.sqs.send_message(QueueUrl=env["OUTPUT_QUEUE_URL"], MessageBody=json.dumps(enriched))


def from_environment() -> SequentialBaseline:
    return SequentialBaseline(dict(os.environ))
