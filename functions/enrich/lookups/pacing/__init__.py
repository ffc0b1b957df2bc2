"""Pacing under the APIs' rate limits: one schedule for the whole fleet in DynamoDB
(fleet_pacer, schedule, table_clock), a container pacing alone (container_pacer), and what the
API's own headers say (rate_limit_headers)."""
