"""``town.gif``: frame count and size, and a hand-built town drawn where its state says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.unit.render.conftest import TICKS, tiny_scenario
from townlet.policy.episodes import play_episodes
from townlet.render.style import need_colours, need_level
from townlet.render.town_frames import (
    BADGE,
    PAPER,
    WALL,
    FrameLayout,
    _background,
    default_every,
    draw_frame,
    frame_states,
    town_frames,
    write_gif,
)
from townlet.render.trace import TownTrace, TraceRecorder
from townlet.sim import TownVecEnv
from townlet.sim.constants import MOVE_E, WAIT


def rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    return image.convert("RGB").getpixel(xy)  # type: ignore[return-value]


def test_gif_has_one_frame_per_state_and_the_layout_size(
    tiny_trace: TownTrace, tmp_path: Path
) -> None:
    path = write_gif(tiny_trace, tmp_path / "town.gif")
    layout = FrameLayout.for_grid(6, 4)
    with Image.open(path) as gif:
        assert gif.n_frames == TICKS + 1
        assert gif.size == (layout.width, layout.height)
    assert len(town_frames(tiny_trace, every=5)) == len([0, 5, 10, 12])


def test_long_episodes_are_drawn_every_kth_tick() -> None:
    assert default_every(90) == 1 and default_every(1440) == 4
    states = frame_states(1440, 4)
    assert len(states) == 361 and states[:2] == [0, 4] and states[-1] == 1440
    assert frame_states(10, 4) == [0, 4, 8, 10]  # the last state is always shown


def test_agents_walls_and_paper_are_at_their_pixels(tiny_trace: TownTrace) -> None:
    layout = FrameLayout.for_grid(tiny_trace.width, tiny_trace.height)
    frame = draw_frame(tiny_trace, 0, layout, _background(tiny_trace, layout))
    palette = frame.getpalette() or []
    colours = need_colours()
    radius = int(layout.cell * 0.47)  # a lone agent's circle
    for agent, tile in enumerate([(1, 1), (4, 2)]):
        px, py = layout.centre(*tile)
        worst = tiny_trace.needs[0, agent].min()
        # Left of the initial, inside the circle.
        assert rgb(frame, (px - radius + 4, py)) == colours[int(need_level(worst))]
    assert colours[int(need_level(1.0))] == (26, 152, 80)  # ann: all needs full = green
    assert colours[int(need_level(0.2))][0] > 200  # ben: hygiene 0.2 = red side
    wall = layout.centre(3, 0)
    assert rgb(frame, wall) == tuple(palette[3 * WALL : 3 * WALL + 3])
    assert rgb(frame, layout.centre(2, 3)) == tuple(palette[3 * PAPER : 3 * PAPER + 3])


def test_an_agent_that_moves_is_drawn_on_its_new_tile() -> None:
    def east_once(env: TownVecEnv, obs: object, rng: np.random.Generator) -> np.ndarray:
        actions = np.full(env.state.x.shape, WAIT, dtype=np.int64)
        if int(env.state.tick[0]) == 0:
            actions[:, 0] = MOVE_E
        return actions

    recorder = TraceRecorder(policy="east")
    play_episodes(tiny_scenario(), east_once, towns=1, seed=5, observer=recorder)
    trace = recorder.trace()
    frames = town_frames(trace, every=1)
    layout = FrameLayout.for_grid(trace.width, trace.height)
    green = need_colours()[-1]
    left = layout.cell // 2 - int(layout.cell * 0.47) + 4  # inside the circle, left of centre
    before, after = layout.corner(1, 1), layout.corner(2, 1)
    at = (before[0] + left, before[1] + layout.cell // 2)
    moved = (after[0] + left, after[1] + layout.cell // 2)
    assert rgb(frames[0], at) == green and rgb(frames[0], moved) != green
    assert rgb(frames[1], moved) == green and rgb(frames[1], at) != green


def test_a_queue_is_a_counted_badge_on_its_object(tiny_trace: TownTrace) -> None:
    tiny_trace.queue_obj[3] = [1, 1]  # both wait for the bed (object 1) at state 3
    assert tiny_trace.queue_length(3).tolist() == [0, 2]
    layout = FrameLayout.for_grid(tiny_trace.width, tiny_trace.height)
    background = _background(tiny_trace, layout)
    palette = background.getpalette() or []
    cx, cy = layout.corner(int(tiny_trace.object_x[1]), int(tiny_trace.object_y[1]))
    badge = (cx + layout.cell - 2, cy + 1 + max(5, layout.cell // 3) - 3)  # below its digit
    badge_rgb = tuple(palette[3 * BADGE : 3 * BADGE + 3])
    assert rgb(draw_frame(tiny_trace, 3, layout, background), badge) == badge_rgb
    assert rgb(draw_frame(tiny_trace, 2, layout, background), badge) != badge_rgb
