"""A local stand-in for Jenkins, for the test suite and `make run` (never production).

It serves, over real HTTP, what Workbench uses of Jenkins with the Pipeline, Credentials,
Configuration-as-Code, Stage View, Blue Ocean and Generic Event plugins, shaped as the real
server shapes it, and runs declarative pipelines with a small set of emulated steps on a
scalable clock. See README.md for what is emulated, the `sh` convention and the knobs.

    standin = JenkinsStandIn(time_scale=100)
    url = await standin.start()          # http://127.0.0.1:<free port>/
    ...                                  # python-jenkins / api4jenkins / Workbench
    await standin.stop()
"""

from sandbox.jenkins._clock import Clock
from sandbox.jenkins._jenkins import VERSION, Jenkins, JenkinsError
from sandbox.jenkins._server import JenkinsStandIn

__all__ = ["VERSION", "Clock", "Jenkins", "JenkinsError", "JenkinsStandIn"]
