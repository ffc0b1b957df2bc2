"""What every stage runs on: AWS calls bounded by the invocation's deadline (aws_calls,
deadlines), the keys and secrets (api_keys, secret_reader), and the logs, metrics and traces
(observability, log_redaction, tracing).

Not named `platform`: the function's folder comes first on Lambda's import path, and a package
of that name would hide the standard library's `platform` module from botocore and requests.
"""
