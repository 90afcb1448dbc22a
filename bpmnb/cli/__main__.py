"""``python -m bpmnb.cli``: the same as the ``bpmnb`` command."""

from bpmnb.cli import main

main()
