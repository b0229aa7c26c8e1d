"""Declarative pipelines run by the stand-in: statuses, logs and effects follow Jenkins's rules."""

from __future__ import annotations

import asyncio

from sandbox.jenkins import JenkinsStandIn
from sandbox.jenkins._model import Run
from sandbox.jenkins._xml import parse_credential
from tests.sandbox.jenkins.helpers import (
    build,
    declarative,
    log_of,
    parallel_stage,
    pipeline_xml,
    schedule,
    secret_text_xml,
    stage,
    started,
    until,
)

JUNIT = """<testsuite name="unit" time="1.5">
  <testcase classname="app.Test" name="passes" time="0.5"/>
  <testcase classname="app.Test" name="fails" time="1.0"><failure message="boom"/></testcase>
</testsuite>"""


def statuses(run: Run) -> dict[str, tuple[str, str | None]]:
    return {n.name: (n.state, n.result) for n in run.stages()}


async def run_script(standin: JenkinsStandIn, script: str, **params: str) -> Run:
    standin.create_job("pipe", pipeline_xml(script))
    return await build(standin, "pipe", params or None)


async def test_stages_run_in_order_and_succeed(standin: JenkinsStandIn) -> None:
    script = declarative(stage("One", "echo 'first'") + "\n" + stage("Two", "echo 'second'"))

    run = await run_script(standin, script)

    assert run.result == "SUCCESS"
    assert log_of(run).index("first") < log_of(run).index("second")
    assert statuses(run) == {"One": ("finished", "SUCCESS"), "Two": ("finished", "SUCCESS")}


async def test_sh_echo_prints_after_the_trace(standin: JenkinsStandIn) -> None:
    run = await run_script(standin, declarative(stage("Build", "sh 'echo hi there'")))

    assert "[Pipeline] sh\n+ echo hi there\nhi there\n" in log_of(run)


async def test_failing_sh_fails_the_build_and_skips_later_stages(standin: JenkinsStandIn) -> None:
    script = declarative(stage("Build", "sh 'exit 1'") + "\n" + stage("Deploy", "echo 'no'"))

    run = await run_script(standin, script)

    assert run.result == "FAILURE"
    assert statuses(run) == {"Build": ("finished", "FAILURE"), "Deploy": ("skipped", "NOT_BUILT")}
    assert 'Stage "Deploy" skipped due to earlier failure(s)' in log_of(run)
    assert log_of(run).endswith("ERROR: script returned exit code 1\nFinished: FAILURE\n")


async def test_return_status_keeps_a_failing_sh_from_failing(standin: JenkinsStandIn) -> None:
    run = await run_script(
        standin, declarative(stage("B", "sh script: 'exit 4', returnStatus: true"))
    )

    assert run.result == "SUCCESS"


async def test_bat_exit_b_fails_the_step_with_its_code(standin: JenkinsStandIn) -> None:
    script = "REM build\necho before\n@echo off\nexit /b 3\necho after\n"
    steps = f"bat '''{script}'''"

    run = await run_script(standin, declarative(stage("Win", steps)))

    log = log_of(run)
    assert run.result == "FAILURE"
    traced = "\nC:\\workspace>REM build\n\nC:\\workspace>echo before\nbefore\n"
    assert f"[Pipeline] bat\n{traced}[Pipeline]" in log
    assert "after" not in log and "exit /b" not in log
    assert log.endswith("ERROR: script returned exit code 3\nFinished: FAILURE\n")


async def test_bat_exit_b_zero_ends_the_script_successfully(standin: JenkinsStandIn) -> None:
    steps = "bat 'EXIT /B 0'\nbat script: 'exit /b 5', returnStatus: true\necho 'went on'"

    run = await run_script(standin, declarative(stage("Win", steps)))

    assert run.result == "SUCCESS"
    assert "went on" in log_of(run)


async def test_error_step_fails_with_its_message(standin: JenkinsStandIn) -> None:
    run = await run_script(standin, declarative(stage("Build", "error 'bad input'")))

    build_stage = run.stages()[0]
    assert run.result == "FAILURE"
    assert build_stage.error == {"message": "bad input", "type": "hudson.AbortException"}


async def test_when_false_skips_the_stage(standin: JenkinsStandIn) -> None:
    skipped = stage("Deploy", "echo 'deploying'", extra="when { expression { return false } }")

    run = await run_script(standin, declarative(skipped))

    assert run.result == "SUCCESS"
    assert statuses(run) == {"Deploy": ("skipped", "NOT_BUILT")}
    assert 'Stage "Deploy" skipped due to when conditional' in log_of(run)


async def test_when_reads_build_parameters(standin: JenkinsStandIn) -> None:
    gated = stage(
        "Deploy", "echo 'deploying'", extra="when { expression { params.ENV == 'prod' } }"
    )
    script = declarative(gated, extra="parameters { string(name: 'ENV', defaultValue: 'dev') }")

    run = await run_script(standin, script)

    assert statuses(run)["Deploy"][0] == "skipped"


async def test_parallel_branches_run_at_the_same_time(standin: JenkinsStandIn) -> None:
    branches = stage("a", "sleep 60") + "\n" + stage("b", "sleep 60")
    script = declarative(f"    stage('Both') {{\n      parallel {{\n{branches}\n      }}\n    }}")

    run = await run_script(standin, script)

    assert run.result == "SUCCESS"
    assert 60_000 <= run.duration < 100_000
    assert [n.kind for n in run.stages()] == ["stage", "branch", "branch"]


async def test_fail_fast_keeps_the_failure_and_aborts_the_other_branches(
    standin: JenkinsStandIn,
) -> None:
    branches = (
        stage("slow", "sleep 600", extra="post { aborted { echo 'slow was stopped' } }")
        + "\n"
        + stage("broken", "sleep 1\nerror 'broke'")
    )
    both = parallel_stage("Both", branches, extra="failFast true")
    script = declarative(both + "\n" + stage("After", "echo 'never'"))

    run = await run_script(standin, script)

    assert run.result == "FAILURE"
    assert statuses(run) == {
        "Both": ("finished", "FAILURE"),
        "slow": ("finished", "ABORTED"),
        "broken": ("finished", "FAILURE"),
        "After": ("skipped", "NOT_BUILT"),
    }
    log = log_of(run)
    assert "Failed in branch broken" in log and "slow was stopped" in log
    assert "Aborted by" not in log
    assert log.endswith("ERROR: broke\nFinished: FAILURE\n")
    assert run.duration < 600_000


async def test_a_stop_during_fail_fast_parallel_still_aborts_the_build(
    standin: JenkinsStandIn,
) -> None:
    branches = stage("a", "sleep 600") + "\n" + stage("b", "sleep 600")
    both = parallel_stage("Both", branches, extra="failFast true")
    standin.create_job("pipe", pipeline_xml(declarative(both)))
    run = await started(schedule(standin, "pipe"))
    await until(lambda: log_of(run).count("Sleeping for") == 2)

    standin.jenkins.stop(run)
    await until(lambda: not run.building)

    assert run.result == "ABORTED"
    assert statuses(run)["Both"] == ("finished", "ABORTED")


MATRIX = """    stage('Cells') {
      %s
      matrix {
        axes {
          axis { name 'OS'; values 'linux', 'windows', 'mac' }
          axis { name 'JDK'; values '11', '17' }
        }
        excludes {
          exclude {
            axis { name 'OS'; values 'mac' }
            axis { name 'JDK'; notValues '17' }
          }
        }
        stages {
%s
        }
      }
    }"""


async def test_matrix_runs_each_cell_with_its_axis_values(standin: JenkinsStandIn) -> None:
    inner = stage("Build", 'echo "build on ${OS} with ${JDK}"') + "\n" + stage("Test", "echo 't'")
    script = declarative(MATRIX % ("", inner))

    run = await run_script(standin, script)

    cells = [n.name for n in run.stages() if n.kind == "branch"]
    assert run.result == "SUCCESS"
    assert cells == [
        "Matrix - OS = 'linux', JDK = '11'",
        "Matrix - OS = 'windows', JDK = '11'",
        "Matrix - OS = 'linux', JDK = '17'",
        "Matrix - OS = 'windows', JDK = '17'",
        "Matrix - OS = 'mac', JDK = '17'",
    ]
    log = log_of(run)
    assert "build on mac with 17" in log and "build on linux with 11" in log
    assert "build on mac with 11" not in log
    assert [n.name for n in run.stages()].count("Test") == 5
    assert all(n.result == "SUCCESS" for n in run.stages())


async def test_a_failing_matrix_cell_fails_the_stage_and_the_build(
    standin: JenkinsStandIn,
) -> None:
    inner = stage("Build", "sh 'exit 3'", extra="when { environment name: 'OS', value: 'mac' }")
    script = declarative(MATRIX % ("", inner))

    run = await run_script(standin, script)

    by_name = {n.name: n for n in run.stages() if n.kind != "step"}
    assert run.result == "FAILURE"
    assert by_name["Cells"].result == "FAILURE"
    assert by_name["Matrix - OS = 'mac', JDK = '17'"].result == "FAILURE"
    assert by_name["Matrix - OS = 'linux', JDK = '11'"].result == "SUCCESS"
    assert log_of(run).count('Stage "Build" skipped due to when conditional') == 4


async def test_matrix_when_sees_the_cell_axis_values(standin: JenkinsStandIn) -> None:
    build_stage = stage("Build", 'echo "built on ${OS}"')
    matrix = (
        "    stage('Cells') {\n      matrix {\n"
        "        axes { axis { name 'OS'; values 'linux', 'mac' } }\n"
        "        when { environment name: 'OS', value: 'linux' }\n"
        f"        stages {{\n{build_stage}\n        }}\n      }}\n    }}"
    )

    run = await run_script(standin, declarative(matrix))

    log = log_of(run)
    assert run.result == "SUCCESS"
    assert "built on linux" in log and "built on mac" not in log
    assert "Stage \"Matrix - OS = 'mac'\" skipped due to when conditional" in log
    assert statuses(run)["Matrix - OS = 'mac'"] == ("skipped", "NOT_BUILT")


async def test_post_runs_the_matching_conditions(standin: JenkinsStandIn) -> None:
    post = (
        "post { always { echo 'always ran' }\n"
        " failure { echo 'failure ran' }\n success { echo 'success ran' } }"
    )
    script = declarative(stage("Build", "sh 'false'"), extra=post)

    run = await run_script(standin, script)

    log = log_of(run)
    assert "always ran" in log and "failure ran" in log
    assert "success ran" not in log
    assert "Declarative: Post Actions" in [n.name for n in run.stages()]


async def test_failing_tests_make_the_build_unstable(standin: JenkinsStandIn) -> None:
    steps = f"writeFile file: 'reports/unit.xml', text: '''{JUNIT}'''\njunit 'reports/*.xml'"
    script = declarative(stage("Test", steps) + "\n" + stage("Next", "echo 'still runs'"))

    run = await run_script(standin, script)

    assert run.result == "UNSTABLE"
    assert statuses(run)["Test"] == ("finished", "UNSTABLE")
    assert statuses(run)["Next"] == ("finished", "SUCCESS")
    assert run.tests is not None
    assert [c.status for c in run.tests[0].cases] == ["PASSED", "FAILED"]


async def test_junit_without_reports_fails(standin: JenkinsStandIn) -> None:
    run = await run_script(standin, declarative(stage("Test", "junit 'missing/*.xml'")))

    assert run.result == "FAILURE"


async def test_archived_artifacts_come_from_declared_files(standin: JenkinsStandIn) -> None:
    steps = "sh 'echo built > dist/app.txt'\narchiveArtifacts artifacts: 'dist/*.txt'"

    run = await run_script(standin, declarative(stage("Package", steps)))

    assert run.artifacts == {"dist/app.txt": b"built\n"}


async def test_with_credentials_masks_the_secret(standin: JenkinsStandIn) -> None:
    standin.jenkins.root.credentials.domains["_"]["tok"] = parse_credential(
        secret_text_xml("tok", "hunter2")
    )
    steps = (
        "withCredentials([string(credentialsId: 'tok', variable: 'TOKEN')]) {\n sh 'echo $TOKEN'\n}"
    )

    run = await run_script(standin, declarative(stage("Use", steps)))

    assert run.result == "SUCCESS"
    assert "hunter2" not in log_of(run)
    assert "+ echo ****\n****\n" in log_of(run)


async def test_missing_credential_fails_the_build(standin: JenkinsStandIn) -> None:
    steps = "withCredentials([string(credentialsId: 'nope', variable: 'T')]) {\n sh 'echo $T'\n}"

    run = await run_script(standin, declarative(stage("Use", steps)))

    assert run.result == "FAILURE"
    assert "Could not find credentials entry with ID 'nope'" in log_of(run)


async def test_environment_credentials_are_bound_and_masked(standin: JenkinsStandIn) -> None:
    standin.jenkins.root.credentials.domains["_"]["tok"] = parse_credential(
        secret_text_xml("tok", "hunter2")
    )
    script = declarative(
        stage("Use", "sh 'echo $TOKEN'"), extra="environment { TOKEN = credentials('tok') }"
    )

    run = await run_script(standin, script)

    assert "hunter2" not in log_of(run)
    assert "****" in log_of(run)


async def test_input_pauses_until_proceed(standin: JenkinsStandIn) -> None:
    standin.create_job(
        "pipe", pipeline_xml(declarative(stage("Gate", "input 'Go on?'\necho 'went on'")))
    )
    run = await started(schedule(standin, "pipe"))
    await until(lambda: run.paused)

    request = next(iter(run.inputs.values()))
    standin.jenkins.submit_input(run, request.id, proceed=True, user="admin")
    await until(lambda: not run.building)

    assert run.result == "SUCCESS"
    assert "Go on?\nProceed or Abort\nApproved by admin\n" in log_of(run)


async def test_input_abort_ends_the_build_aborted(standin: JenkinsStandIn) -> None:
    standin.create_job("pipe", pipeline_xml(declarative(stage("Gate", "input 'Go on?'"))))
    run = await started(schedule(standin, "pipe"))
    await until(lambda: run.paused)

    request = next(iter(run.inputs.values()))
    standin.jenkins.submit_input(run, request.id, proceed=False, user="admin")
    await until(lambda: not run.building)

    assert run.result == "ABORTED"
    assert "Rejected by admin" in log_of(run)


async def test_stop_aborts_and_post_aborted_still_runs(standin: JenkinsStandIn) -> None:
    script = declarative(
        stage("Wait", "sleep 3600"), extra="post { aborted { echo 'cleaned up' } }"
    )
    standin.create_job("pipe", pipeline_xml(script))
    run = await started(schedule(standin, "pipe"))
    await until(lambda: "Sleeping for" in log_of(run))

    standin.jenkins.stop(run)
    await until(lambda: not run.building)

    assert run.result == "ABORTED"
    assert statuses(run)["Wait"] == ("finished", "ABORTED")
    assert "cleaned up" in log_of(run)


async def test_kill_ends_the_build_at_once(standin: JenkinsStandIn) -> None:
    script = declarative(stage("Wait", "sleep 3600"), extra="post { always { echo 'post ran' } }")
    standin.create_job("pipe", pipeline_xml(script))
    run = await started(schedule(standin, "pipe"))
    await until(lambda: "Sleeping for" in log_of(run))

    standin.jenkins.stop(run, "kill")
    await until(lambda: not run.building)

    assert run.result == "ABORTED"
    assert "post ran" not in log_of(run)


async def test_timeout_aborts_a_slow_block(standin: JenkinsStandIn) -> None:
    steps = "timeout(time: 1, unit: 'MINUTES') {\n sleep 600\n}"

    run = await run_script(standin, declarative(stage("Slow", steps)))

    assert run.result == "ABORTED"
    assert "Timeout has been exceeded" in log_of(run)


async def test_a_ten_minute_pipeline_runs_in_scaled_time(standin: JenkinsStandIn) -> None:
    standin.time_scale = 6000  # 0.1 s; the bound leaves room for a busy machine
    loop = asyncio.get_running_loop()
    begun = loop.time()

    run = await run_script(standin, declarative(stage("Long", "sleep time: 10, unit: 'MINUTES'")))

    assert loop.time() - begun < 5.0
    assert run.duration >= 600_000


async def test_unknown_step_fails_like_a_missing_dsl_method(standin: JenkinsStandIn) -> None:
    run = await run_script(standin, declarative(stage("Odd", "frobnicate 'x'")))

    assert run.result == "FAILURE"
    assert "No such DSL method 'frobnicate'" in log_of(run)


async def test_json_model_script_runs_without_the_converter(standin: JenkinsStandIn) -> None:
    model = {
        "pipeline": {
            "agent": {"type": "none"},
            "stages": [
                {
                    "name": "Only",
                    "branches": [
                        {
                            "name": "default",
                            "steps": [
                                {"name": "echo", "arguments": {"isLiteral": True, "value": "hi"}}
                            ],
                        }
                    ],
                }
            ],
        }
    }
    standin.create_job("pipe", pipeline_xml(model))

    run = await build(standin, "pipe")

    assert run.result == "SUCCESS"
    assert "[Pipeline] echo\nhi\n" in log_of(run)


async def test_syntax_error_fails_the_build_like_a_compilation_error(
    standin: JenkinsStandIn,
) -> None:
    run = await run_script(standin, "pipeline {\n  agent any\n  stages {\n")

    assert run.result == "FAILURE"
    assert "MultipleCompilationErrorsException" in log_of(run)
    assert run.stages() == []


async def test_scm_job_reads_the_seeded_jenkinsfile(standin: JenkinsStandIn) -> None:
    standin.seed_scm(
        "https://git.example/app.git",
        "main",
        {"Jenkinsfile": declarative(stage("B", "echo 'scm'"))},
    )
    xml = """<flow-definition plugin="workflow-job"><definition
      class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition" plugin="workflow-cps">
      <scm class="hudson.plugins.git.GitSCM" plugin="git"><userRemoteConfigs>
      <hudson.plugins.git.UserRemoteConfig><url>https://git.example/app.git</url>
      </hudson.plugins.git.UserRemoteConfig></userRemoteConfigs><branches>
      <hudson.plugins.git.BranchSpec><name>*/main</name></hudson.plugins.git.BranchSpec>
      </branches></scm><scriptPath>Jenkinsfile</scriptPath></definition>
      <disabled>false</disabled></flow-definition>"""
    standin.create_job("pipe", xml)

    run = await build(standin, "pipe")

    assert run.result == "SUCCESS"
    assert [n.name for n in run.stages()] == ["Declarative: Checkout SCM", "B"]
