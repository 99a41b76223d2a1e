"""Keeping short critical sections (a temporary file's create-write-replace) whole under Ctrl-C and SIGTERM."""
from __future__ import annotations

import contextlib
import signal
import threading

INTERRUPTED = "interrupted: every file is either as it was or completely fixed; nothing is half-written"


@contextlib.contextmanager
def signals_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them.

    A KeyboardInterrupt raised between two bytecodes can land after mkstemp created the temporary file but
    before anything could remove it; deferring the signal makes the write all-or-nothing for real.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals; nothing to defer
        return
    received: list[int] = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        raised: BaseException | None = None
        for number, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back; the default is closest.
            wanted = signal.SIG_DFL if handler is None else handler
            for _ in range(3):
                try:
                    signal.signal(number, wanted)
                    break
                except BaseException as error:  # noqa: BLE001 - signal.signal runs pending handlers first
                    # (a SIGTERM handler that raises, say): finish restoring, or a later Ctrl-C is swallowed.
                    raised = raised or error
        if raised is not None:
            raise raised
        if received:
            signal.raise_signal(received[0])


def terminated(signum, frame):
    """SIGTERM handler: the same orderly exit as Ctrl-C (a write in progress completes or is undone)."""
    raise KeyboardInterrupt
