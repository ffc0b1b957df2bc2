"""A stand-in for the context object Lambda passes to the handler."""

from __future__ import annotations

import time
import uuid


class LambdaContextStub:
    function_name = "webhook-enrichment-EnrichFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/webhook-enrichment-EnrichFunction"
    log_stream_name = "2026/11/22/[$LATEST]local"

    def __init__(self, timeout_seconds: float = 30) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:eu-west-1:123456789012:function:{self.function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
