"""Pictures of a town's day: a per-tick trace of one town and what is drawn from it.

- :mod:`townlet.render.trace`: :class:`TraceRecorder`, handed to ``play_episodes`` as its
  observer, records town 0 (positions, needs, actions, shifts, faints, queues, objects).
- :mod:`townlet.render.timeline`: ``timeline.png``, one row per agent over the ticks.
- :mod:`townlet.render.town_frames`: ``town.gif``, the map every k-th tick.
- :mod:`townlet.render.eval_callback`: a training callback that plays and logs the same.

:func:`write_pictures` writes both files into a folder (``python -m townlet.evaluate
evaluate.render=true``). matplotlib and Pillow are imported only when something is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from townlet.render.trace import TownTrace

TIMELINE_FILE = "timeline.png"
GIF_FILE = "town.gif"


def write_pictures(trace: TownTrace, folder: Path) -> dict[str, Path]:
    """Write ``timeline.png`` and ``town.gif`` of ``trace`` into ``folder``; their paths."""
    from townlet.render.timeline import write_timeline
    from townlet.render.town_frames import write_gif

    return {
        "timeline": write_timeline(trace, folder / TIMELINE_FILE),
        "gif": write_gif(trace, folder / GIF_FILE),
    }
