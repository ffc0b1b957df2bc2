"""Checks: what is accepted, and what it is.

Signatures (signatures/), the body and the JSON policy every input is held to (body_parsing,
multipart_form, charsets, strict_json), the submitter's email (email_extraction,
email_addresses), and the accepted delivery with its stable id (delivery, delivery_ids).
A check that fails raises its own error (check_failures), which says what is wrong and not how
to answer: the intakes decide that (intake/answers.py).
"""
