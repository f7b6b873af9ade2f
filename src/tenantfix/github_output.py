"""Step outputs for the GitHub Action (``$GITHUB_OUTPUT``) from ``apply --push/--open-pr``.

On a GitHub runner every step gets a file named by ``GITHUB_OUTPUT``; ``name=value`` lines
appended to it become the step's outputs, which action.yml forwards as the action's outputs
``result``, ``pull-request-number`` and ``pull-request-url``. Outside a runner nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenantfix.bot import PublishResult

# the bot's words for what happened, in the Action's vocabulary
_RESULT = {"nothing-to-do": "nothing-to-fix"}


def outputs(result: PublishResult) -> dict[str, str]:
    pr = result.pull_request
    return {
        "result": _RESULT.get(result.action, result.action),
        "pull-request-number": str(pr.number) if pr is not None else "",
        "pull-request-url": pr.url if pr is not None else "",
    }


def write(result: PublishResult) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return
    # values are single-line (an action word, a number, a URL): the plain name=value form
    lines = [
        f"{name}={value.splitlines()[0] if value else ''}"
        for name, value in outputs(result).items()
    ]
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
