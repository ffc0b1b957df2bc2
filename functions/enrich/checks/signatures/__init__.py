"""Webhook signatures: which scheme a route uses and which secrets may prove it (routes,
schemes), the schemes themselves (timestamped, body_only, shared_secrets), and what they read of
a request (signed_requests, request_urls)."""
