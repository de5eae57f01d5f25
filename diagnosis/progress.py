"""Progress of long work on the terminal: counts, rate and ETA on stderr, nothing when stderr is
not a terminal (logs, CI, pipes stay clean)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from tqdm import tqdm


def progress(total: int | None, desc: str, unit: str = "item") -> tqdm:
    """A progress bar on stderr, shown only on a terminal; use as a context manager and
    call ``.update(n)``. ``total=None`` shows a counter without an ETA."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=None, dynamic_ncols=True,
                leave=True, mininterval=0.5)


ProgressCallback = Callable[[int], None]


@contextmanager
def stages(names: Sequence[str], desc: str) -> Iterator[Callable[[str], None]]:
    """A progress bar over named stages; yields the ``on_step(name)`` callback that marks one done."""
    with progress(len(names), desc, "step") as bar:
        def done(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()

        yield done
