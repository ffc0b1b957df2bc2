"""Forwarding: the enriched event onto the output queue, each delivery once.

The shared path of every source (pipeline), with the parts it takes (parts): duplicate-delivery
claims (claims, ledger), the enriched event (enriched_event), batches sent while the lookups run
(outgoing_batches, queue_sender), and what became of each delivery (outcomes, outcome_log).

A record a queue holds may instead go back to wait (record_handback): for a rate limit, or
through an API's outage (outage_waits, with its backoff in outage_backoff and what SQS says of
each record in queue_receipts).
"""
