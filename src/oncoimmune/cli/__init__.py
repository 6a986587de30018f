"""The ``oncoimmune`` command: a thin adapter over the Python API.

Commands: ``models``, ``show MODEL``, ``simulate MODEL``, ``demo`` and ``--version``
(``oncoimmune --help`` for details). Bad input ends a command with one line
``error: <message>`` on stderr and exit status 2.
"""

from oncoimmune.cli._app import EXIT_USER_ERROR, app, main

__all__ = ["EXIT_USER_ERROR", "app", "main"]
