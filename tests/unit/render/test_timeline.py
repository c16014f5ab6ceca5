"""``timeline.png``: its size, one row per agent, and what each row marks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.unit.render.conftest import TICKS, tiny_scenario, waiting
from townlet.policy.episodes import play_episodes
from townlet.render.timeline import draw_timeline, timeline_pixels, timeline_size, write_timeline
from townlet.render.trace import TownTrace, TraceRecorder


def test_png_has_the_size_of_its_agent_rows(tiny_trace: TownTrace, tmp_path: Path) -> None:
    path = write_timeline(tiny_trace, tmp_path / "timeline.png")
    with Image.open(path) as image:
        assert image.size == timeline_size(2) == (1600, 465)
    assert timeline_size(8)[1] - timeline_size(2)[1] == 6 * 130  # 130 px per agent row
    assert timeline_pixels(tiny_trace).shape == (465, 1600, 3)


def test_rows_are_agents_with_needs_floor_and_title(tiny_trace: TownTrace) -> None:
    fig = draw_timeline(tiny_trace)
    rows = fig.axes
    assert [ax.get_ylabel() for ax in rows] == ["ann", "ben"]
    hunger = rows[1].lines[0]
    np.testing.assert_allclose(hunger.get_ydata(), tiny_trace.needs[:, 1, 0])
    assert any(list(line.get_ydata()) == [0.3, 0.3] for line in rows[0].lines)  # K1 floor
    assert rows[0].get_xlim() == (0.0, float(TICKS))
    title = fig.get_suptitle()
    assert "tiny" in title and "policy wait" in title and f"{TICKS} ticks" in title


def test_a_faint_is_marked_in_its_agents_row_only() -> None:
    scenario = tiny_scenario(
        agents=[
            {"id": "ann", "position": [1, 1]},
            {"id": "ben", "position": [4, 2], "needs": {"hunger": 0.05}},
        ]
    )
    recorder = TraceRecorder(policy="wait")
    play_episodes(scenario, waiting, towns=1, seed=3, observer=recorder)
    rows = draw_timeline(recorder.trace()).axes

    def crosses(ax: object) -> list[float]:
        return [float(line.get_xdata()[0]) for line in ax.lines if line.get_marker() == "X"]  # type: ignore[attr-defined]

    assert crosses(rows[0]) == [] and crosses(rows[1]) == [2.0]  # after tick 1 = state 2


def test_shift_windows_are_shaded_each_day() -> None:
    scenario = tiny_scenario(
        ticks=24,
        ticks_per_day=12,
        jobs={"desk": {"start_tick": 2, "end_tick": 9, "location": [2, 2], "wage_rate": 0.01}},
        agents=[
            {"id": "ann", "position": [1, 1], "job": "desk"},
            {"id": "ben", "position": [4, 2]},
        ],
    )
    recorder = TraceRecorder(policy="wait")
    play_episodes(scenario, waiting, towns=1, seed=3, observer=recorder)
    rows = draw_timeline(recorder.trace()).axes
    spans = sorted(
        (round(p.get_x()), round(p.get_x() + p.get_width()))
        for p in rows[0].patches
        if p.get_facecolor()[:3] == (1.0, 0xF3 / 255, 0xB0 / 255)
    )
    assert spans == [(2, 9), (14, 21)]  # days of 12 ticks
    assert rows[1].patches == [] or all(p.get_width() == 0 for p in rows[1].patches)
