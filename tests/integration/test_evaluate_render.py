"""``evaluate.render=true`` and ``callbacks.evaluate``: pictures of a town's day (DESIGN §13)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.helpers import compose_train, read_tensorboard
from townlet.compose import compose_train_config
from townlet.evaluate import evaluate, policy_override
from townlet.render.eval_callback import EvaluateCallback
from townlet.render.timeline import timeline_size
from townlet.render.town_frames import FrameLayout
from townlet.sim import load_scenario


def test_render_writes_both_pictures_and_changes_no_result(tmp_path: Path) -> None:
    base = ["scenario=kitchen_breakfast", "evaluate.towns=1"]
    drawn = evaluate(
        compose_train_config(tmp_path / "drawn", [*base, "evaluate.render=true"], "evaluate")
    )
    plain = evaluate(compose_train_config(tmp_path / "plain", base, config_name="evaluate"))
    assert drawn == plain
    assert not (tmp_path / "plain" / "timeline.png").exists()
    scenario = load_scenario("kitchen_breakfast")
    with Image.open(tmp_path / "drawn" / "timeline.png") as png:
        assert png.format == "PNG" and png.size == timeline_size(len(scenario.agents))
    layout = FrameLayout.for_grid(scenario.grid.width, scenario.grid.height)
    gif_path = tmp_path / "drawn" / "town.gif"
    with Image.open(gif_path) as gif:
        assert gif.format == "GIF" and gif.size == (layout.width, layout.height)
        assert gif.n_frames == scenario.ticks + 1  # 90 ticks: every tick, and the start
    assert gif_path.stat().st_size < 3_000_000


def test_render_has_a_command_line_shorthand() -> None:
    assert policy_override(["render=true", "policy=wait"]) == [
        "evaluate.render=true",
        "evaluate.policy=wait",
    ]


def test_the_callback_is_off_by_default() -> None:
    callback = EvaluateCallback()
    # Off: the hook returns before it touches the trainer or the module.
    callback.on_train_epoch_end(None, None)  # type: ignore[arg-type]
    assert callback.last_scalars == {}


def test_callback_logs_eval_scalars_and_the_timeline_to_tensorboard(tmp_path: Path) -> None:
    from townlet.train import train

    run = tmp_path / "train"
    overrides = [
        "scenario=kitchen_breakfast",
        "++scenario.ticks_per_day=30",  # days end inside the 90-tick episode: KPIs exist
        "data.ticks=8",
        "data.num_towns=1",
        "trainer.max_epochs=2",
        "callbacks.evaluate.every_n_epochs=2",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
    ]
    train(compose_train(run, overrides))
    tags, events = read_tensorboard(run)
    assert {"eval/self_sufficiency", "eval/faints_per_agent_day", "eval/episode_return"} <= tags
    steps = [event.step for event in events.Scalars("eval/episode_return")]
    assert steps == [2 * 8 * 2]  # epoch 2 only; agent-steps: 2 epochs x 8 ticks x 2 agents
    assert events.Scalars("eval/days")[0].value == 3.0
    images = events.Images("eval/timeline")
    assert [image.step for image in images] == steps
    assert (images[0].width, images[0].height) == timeline_size(2)
