"""Forwarding: the enriched event onto the output queue, each delivery once.

The shared path of every source (pipeline): duplicate-delivery claims (claims, ledger), the
enriched event (enriched_event), batches sent while the lookups run (outgoing_batches,
queue_sender), and what became of each delivery (outcomes, outcome_log).
"""
