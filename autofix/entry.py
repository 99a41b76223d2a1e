"""The `autofix` command's entry point (and `python -m autofix`'s): Ctrl-C is handled before anything heavy loads.

Importing the command line, the engine and the rules takes a good part of a second on a cold start; an
interrupt there used to end in a traceback. Here it is an orderly exit like any other: one line, code 130.
(What the interpreter itself does before this module runs is Python's own start-up.)
"""
from __future__ import annotations

import signal
import sys
import threading

from autofix import interrupts

STARTING = "interrupted while starting: nothing was checked or written"


def main(argv: list[str] | None = None) -> int:
    started = False
    try:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, interrupts.terminated)
        from autofix.cli import main as run  # the heavy imports

        started = True
        return run(argv)  # handles its own interrupts; this catches one between its first lines
    except KeyboardInterrupt:
        sys.stderr.write((interrupts.INTERRUPTED if started else STARTING) + "\n")
        return 130
