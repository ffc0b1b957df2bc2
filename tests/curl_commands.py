"""The `curl ...` lines of a text (the sandboxes' /__sandbox/ index), split as a POSIX shell
splits them, so that tests can send each one as a user pasting it would."""

from __future__ import annotations

import shlex
from typing import Any


def curl_commands(index: str) -> list[dict[str, Any]]:
    """Each `curl ...` line of the index, split as a POSIX shell would split it."""
    commands = []
    for line in index.splitlines():
        if not line.strip().startswith("curl "):
            continue
        words = shlex.split(line)[1:]
        command: dict[str, Any] = {"method": "GET", "url": None, "headers": {}, "data": None}
        while words:
            word = words.pop(0)
            if word == "-X":
                command["method"] = words.pop(0)
            elif word == "-H":
                name, _, value = words.pop(0).partition(":")
                command["headers"][name.strip()] = value.strip()
            elif word == "-d":
                command["data"] = words.pop(0)
                if command["method"] == "GET":
                    command["method"] = "POST"  # as curl does for -d
            else:
                assert command["url"] is None, f"unexpected word {word!r} in {line!r}"
                command["url"] = word
        commands.append(command)
    return commands
