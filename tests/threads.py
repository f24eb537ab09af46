"""Running a few calls at once in threads, for tests of concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable


def errors_of_threads(*calls: Callable[[], None], timeout: float = 300) -> list[BaseException]:
    """Run each call in a thread of its own, all at once; what they raised (a thread cannot
    raise into pytest), once all ended."""
    errors: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        try:
            call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
