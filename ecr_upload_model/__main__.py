"""``python -m ecr_upload_model``: the command line (:mod:`ecr_upload_model.cli`)."""

from __future__ import annotations

import os
import sys

from .cli import EXIT_FAILED, main

#: The exit code of a program stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

if __name__ == "__main__":
    try:
        code = main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`... | head`): stop quietly, as Unix tools do,
        # and keep Python from failing again while it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_FAILED
    sys.exit(code)
