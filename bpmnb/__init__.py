"""bpmnb: set up and prove the outgoing mail account of a business-process system.

The package is organised by job, so that a reader finds a behaviour from the
module names alone:

- ``settings``: the account settings model (the "Serwer pocztowy" tab);
- ``rules``: the checks that turn settings into findings at fields;
- ``storage`` and ``secrets``: where settings and secrets live;
- ``message``, ``transport``, ``delivery``: building and sending a message;
- ``queue`` and ``worker``: the persistent outbox;
- ``diagnosis``, ``probe``, ``detect``: finding out what is wrong or right;
- ``presets``: known providers; ``oauth``: Office 365 tokens;
- ``sandbox``: a local mail server for trying everything without an account;
- ``widgets`` and ``app``: the notebook form; ``cli``: the command line.
"""

__version__ = "0.1.0"

import logging as _logging

# A library only logs through its module loggers; the application decides
# where records go. Without this, Python's last-resort handler would print
# our English warnings between the CLI's Polish sentences (`-v` shows them).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())
