"""Run states: what Jenkins says mapped to the contract's `PipelineRunState`, the state machine
runs move through, and the pipeline's weather.

One table maps Jenkins to Workbench, whatever reported it (a queue item, a build's
`api/json`, later the Generic Event plugin):

| Jenkins                                         | Workbench  |
|-------------------------------------------------|------------|
| waiting in Workbench's own queue, or in Jenkins's | QUEUE    |
| queue item cancelled                            | CANCELED   |
| building                                        | RUNNING    |
| building with a pending `input` step            | PAUSED     |
| result SUCCESS                                  | SUCCESS    |
| result FAILURE                                  | FAILED     |
| result ABORTED                                  | CANCELED   |
| result UNSTABLE                                 | UNSTABLE   |
| result NOT_BUILT                                | NOT_BUILT  |
| queue item or build gone (404) before it ended  | UNKNOWN    |
| never started: Jenkins refused it, or stayed down past the dispatcher's bound | ERROR |

The state machine never goes backwards: QUEUE -> RUNNING or PAUSED -> a final state; RUNNING
and PAUSED alternate (one input answered, another reached); a final state never changes. A
late or repeated report (an event after a poll, a poll after an event) is thereby harmless:
the store applies a change with `UPDATE ... WHERE state IN (predecessors)`, so two replicas
racing apply it once.

Weather, from the last five finished runs that passed a verdict (SUCCESS counts as a success;
FAILED, UNSTABLE, ERROR and UNKNOWN as failures; CANCELED and NOT_BUILT are left out, a user
stopping a run says nothing about the pipeline's health), following the contract's
descriptions: all succeeded SUNNY, at least 80% PARTIALLY, at least 60% CLOUDY, at least 40%
RAINING, below that STORM; no such run yet: UNSPECIFIED. `pipelines.weather` (16 characters)
keeps the short name (`SUNNY`, ..., empty for UNSPECIFIED); the API's enum value is
`PIPELINE_WEATHER_` followed by it (`api_weather`). `pipelines.last_run_state` keeps the
`PipelineRunState` name as is.
"""

from __future__ import annotations

from collections.abc import Sequence

QUEUE = "QUEUE"
RUNNING = "RUNNING"
PAUSED = "PAUSED"
SUCCESS = "SUCCESS"
FAILED = "FAILED"
CANCELED = "CANCELED"
ERROR = "ERROR"
NOT_BUILT = "NOT_BUILT"
UNKNOWN = "UNKNOWN"
UNSTABLE = "UNSTABLE"

UNFINISHED = (QUEUE, RUNNING, PAUSED)
FINAL = (SUCCESS, FAILED, CANCELED, ERROR, NOT_BUILT, UNKNOWN, UNSTABLE)

# Jenkins's build result -> Workbench state.
BUILD_RESULTS: dict[str, str] = {
    "SUCCESS": SUCCESS,
    "FAILURE": FAILED,
    "ABORTED": CANCELED,
    "UNSTABLE": UNSTABLE,
    "NOT_BUILT": NOT_BUILT,
}

# The states a run may be in for it to move to the key.
PREDECESSORS: dict[str, tuple[str, ...]] = {
    QUEUE: (),
    RUNNING: (QUEUE, PAUSED),
    PAUSED: (QUEUE, RUNNING),
    **{final: UNFINISHED for final in FINAL},
}

COUNTED = (SUCCESS, FAILED, UNSTABLE, ERROR, UNKNOWN)
WEATHER_WINDOW = 5


def is_final(state: str) -> bool:
    return state in FINAL


def may_move(current: str, target: str) -> bool:
    """Whether the state machine lets a run in `current` move to `target`."""
    return current in PREDECESSORS.get(target, ())


def from_build(info: dict[str, object], paused: bool) -> str:
    """The state of a build from its `api/json` (and whether an input step waits)."""
    if info.get("building"):
        return PAUSED if paused else RUNNING
    result = info.get("result")
    if result is None:
        return RUNNING
    return BUILD_RESULTS.get(str(result), UNKNOWN)


def counts_for_weather(state: str) -> bool:
    return state in COUNTED


def weather(recent: Sequence[str]) -> str:
    """The weather for the newest finished states (newest first); see the module docstring."""
    verdicts = [s for s in recent if s in COUNTED][:WEATHER_WINDOW]
    if not verdicts:
        return ""
    ratio = sum(1 for s in verdicts if s == SUCCESS) / len(verdicts)
    if ratio == 1:
        return "SUNNY"
    if ratio >= 0.8:
        return "PARTIALLY"
    if ratio >= 0.6:
        return "CLOUDY"
    if ratio >= 0.4:
        return "RAINING"
    return "STORM"


def api_weather(stored: str) -> str:
    """The API's `PipelineWeather` name for what `pipelines.weather` keeps."""
    return f"PIPELINE_WEATHER_{stored or 'UNSPECIFIED'}"


# Blue Ocean's node and step (result, state) -> the API's BlueOceanResult name.
def blue_result(result: object, state: object) -> str:
    if state == "RUNNING":
        return "BLUE_OCEAN_RESULT_RUNNING"
    if state == "PAUSED":
        return "BLUE_OCEAN_RESULT_PAUSED"
    if state == "SKIPPED":
        return "BLUE_OCEAN_RESULT_SKIPPED"
    if state in (None, "QUEUED") and result in (None, "UNKNOWN"):
        return "BLUE_OCEAN_RESULT_QUEUED"
    known = {
        "SUCCESS": "BLUE_OCEAN_RESULT_SUCCESS",
        "FAILURE": "BLUE_OCEAN_RESULT_FAILURE",
        "ABORTED": "BLUE_OCEAN_RESULT_ABORTED",
        "NOT_BUILT": "BLUE_OCEAN_RESULT_NOT_BUILT",
        "UNSTABLE": "BLUE_OCEAN_RESULT_UNSTABLE",
    }
    return known.get(str(result), "BLUE_OCEAN_RESULT_UNSPECIFIED")
