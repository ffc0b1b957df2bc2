"""Intake: each source's event turned into deliveries, and the answer its source expects.

One module per source (http, sqs, eventbridge, direct) beside what they share: the parts each
takes (parts), telling the sources apart (event_sources), API Gateway's event shapes
(proxy_events), queued mode's message and its signature (queued_webhooks, queued_signatures),
and the answer when an invocation has too little time to start (early_answers).
"""
