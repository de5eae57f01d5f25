"""``python -m diagnosis …``: the same as the ``teichaku`` command."""

from .cli import main

main()
