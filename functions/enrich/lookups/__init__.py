"""Lookups: each address in both APIs at once (enricher), through one client per API
(minimo_client, sales_client) over pooled sessions whose retries end by the deadline
(http_session), paced under the APIs' rate limits (pacing/), read into results (results,
api_errors) and kept a while in each container (cache)."""
