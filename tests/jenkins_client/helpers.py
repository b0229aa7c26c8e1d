"""Builders for the config.xml, Jenkinsfiles and credential XML the client tests send."""

from __future__ import annotations

from xml.sax.saxutils import escape


def pipeline_xml(script: str, *, parameters: str = "", description: str = "") -> str:
    """A pipeline job's config.xml with an inline declarative script."""
    properties = ""
    if parameters:
        properties = (
            "<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
            f"{parameters}</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
        )
    return f"""<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job">
  <actions/>
  <description>{escape(description)}</description>
  <keepDependencies>false</keepDependencies>
  <properties>{properties}</properties>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">
    <script>{escape(script)}</script>
    <sandbox>true</sandbox>
  </definition>
  <triggers/>
  <disabled>false</disabled>
</flow-definition>
"""


def string_parameter(name: str, default: str = "") -> str:
    return (
        f"<hudson.model.StringParameterDefinition><name>{name}</name>"
        f"<description></description><defaultValue>{default}</defaultValue>"
        "<trim>false</trim></hudson.model.StringParameterDefinition>"
    )


def declarative(*stages: tuple[str, str]) -> str:
    """`pipeline { agent any; stages { stage(name) { steps { ... } } ... } }`."""
    body = "\n".join(
        f"    stage('{name}') {{\n      steps {{\n        {steps}\n      }}\n    }}"
        for name, steps in stages
    )
    return f"pipeline {{\n  agent any\n  stages {{\n{body}\n  }}\n}}\n"


def secret_text_xml(credential_id: str, secret: str, description: str = "") -> str:
    return (
        "<org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>"
        f"<scope>GLOBAL</scope><id>{credential_id}</id>"
        f"<description>{description}</description><secret>{secret}</secret>"
        "</org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>"
    )
