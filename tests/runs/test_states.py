"""The state machine and the weather, as pure functions."""

from __future__ import annotations

import pytest

from services.devops_server.ci import states


@pytest.mark.parametrize("final", states.FINAL)
def test_final_state_never_changes(final: str) -> None:
    assert not any(states.may_move(final, target) for target in states.UNFINISHED + states.FINAL)


def test_running_run_never_goes_back_to_queue() -> None:
    assert not states.may_move("RUNNING", "QUEUE")
    assert not states.may_move("PAUSED", "QUEUE")


def test_paused_and_running_alternate() -> None:
    assert states.may_move("RUNNING", "PAUSED")
    assert states.may_move("PAUSED", "RUNNING")


@pytest.mark.parametrize(
    ("result", "state"),
    [
        ("SUCCESS", "SUCCESS"),
        ("FAILURE", "FAILED"),
        ("ABORTED", "CANCELED"),
        ("UNSTABLE", "UNSTABLE"),
        ("NOT_BUILT", "NOT_BUILT"),
    ],
)
def test_jenkins_results_map_to_run_states(result: str, state: str) -> None:
    assert states.from_build({"building": False, "result": result}, paused=False) == state


def test_building_with_pending_input_is_paused() -> None:
    assert states.from_build({"building": True, "result": None}, paused=True) == "PAUSED"


@pytest.mark.parametrize(
    ("recent", "weather"),
    [
        ([], ""),
        (["SUCCESS"] * 5, "SUNNY"),
        (["FAILED"] + ["SUCCESS"] * 4, "PARTIALLY"),
        (["FAILED", "UNSTABLE"] + ["SUCCESS"] * 3, "CLOUDY"),
        (["FAILED"] * 3 + ["SUCCESS"] * 2, "RAINING"),
        (["FAILED"] * 4 + ["SUCCESS"], "STORM"),
        (["CANCELED", "SUCCESS"], "SUNNY"),
    ],
)
def test_weather_from_the_last_five_verdicts(recent: list[str], weather: str) -> None:
    assert states.weather(recent) == weather
