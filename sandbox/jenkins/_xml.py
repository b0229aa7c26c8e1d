"""Reading and writing the XML Jenkins keeps for jobs, folders and credentials.

Jenkins stores an item as the XStream form of its Java object and hands that same XML back on
`GET config.xml`. The stand-in keeps the XML it was given (so a client reads back what it
wrote, as with a real server) and parses from it only what changes behaviour: for a pipeline
job the description, `disabled`, the parameter definitions, the cron triggers, whether
concurrent builds are allowed, which job properties it has (in order), and the flow
definition (an inline script or a Git SCM pointer); for a folder, its description.

Only the standard library parser is used and nothing in the XML is evaluated or executed.
Root elements other than a pipeline job (`flow-definition`) or a folder are refused, since
freestyle, matrix or multibranch projects are not emulated.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
WORKFLOW_JOB_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"

EMPTY_FOLDER_XML = f"""<?xml version='1.1' encoding='UTF-8'?>
<{FOLDER_CLASS} plugin="cloudbees-folder">
  <actions/>
  <description></description>
  <properties/>
  <folderViews class="com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder">
    <views>
      <hudson.model.AllView>
        <owner class="{FOLDER_CLASS}" reference="../../../.."/>
        <name>All</name>
        <filterExecutors>false</filterExecutors>
        <filterQueue>false</filterQueue>
        <properties class="hudson.model.View$PropertyList"/>
      </hudson.model.AllView>
    </views>
    <tabBar class="hudson.views.DefaultViewsTabBar"/>
  </folderViews>
  <healthMetrics/>
  <icon class="com.cloudbees.hudson.plugins.folder.icons.StockFolderIcon"/>
</{FOLDER_CLASS}>
"""


class ConfigError(ValueError):
    """An item or credential XML the stand-in cannot accept."""


@dataclass
class ParameterDefinition:
    """One `hudson.model.*ParameterDefinition` of a job."""

    kind: str
    name: str
    description: str = ""
    default: str | bool | None = None
    choices: list[str] = field(default_factory=list)
    trim: bool = False

    @property
    def value_class(self) -> str:
        kinds = {
            "BooleanParameterDefinition": "hudson.model.BooleanParameterValue",
            "TextParameterDefinition": "hudson.model.TextParameterValue",
            "PasswordParameterDefinition": "hudson.model.PasswordParameterValue",
            "FileParameterDefinition": "hudson.model.FileParameterValue",
        }
        return kinds.get(self.kind, "hudson.model.StringParameterValue")

    def default_value(self) -> str | bool | None:
        if self.kind == "ChoiceParameterDefinition":
            return self.choices[0] if self.choices else ""
        return self.default

    def coerce(self, raw: str) -> str | bool:
        """The typed value of a submitted form field."""
        if self.kind == "BooleanParameterDefinition":
            return raw.strip().lower() in ("true", "on", "yes", "1")
        return raw.strip() if self.trim else raw

    def value_json(self, value: str | bool | None) -> dict[str, Any]:
        """The exported `*ParameterValue` (passwords never export their value)."""
        exported: dict[str, Any] = {"_class": self.value_class, "name": self.name}
        if self.kind not in ("PasswordParameterDefinition", "FileParameterDefinition"):
            exported["value"] = value
        return exported

    def json(self) -> dict[str, Any]:
        exported: dict[str, Any] = {
            "_class": f"hudson.model.{self.kind}",
            "defaultParameterValue": None,
            "description": self.description,
            "name": self.name,
            "type": self.kind,
        }
        if self.kind != "FileParameterDefinition":
            exported["defaultParameterValue"] = self.value_json(self.default_value())
        if self.kind == "ChoiceParameterDefinition":
            exported["choices"] = list(self.choices)
        if self.kind == "StringParameterDefinition":
            exported["trim"] = self.trim
        return exported


@dataclass
class ScmDefinition:
    """A `CpsScmFlowDefinition` over Git."""

    url: str
    branch: str = "*/master"
    script_path: str = "Jenkinsfile"
    credentials_id: str = ""


@dataclass
class PipelineConfig:
    """What the stand-in reads from a pipeline job's config.xml."""

    description: str = ""
    disabled: bool = False
    parameters: list[ParameterDefinition] = field(default_factory=list)
    script: str | None = None
    scm: ScmDefinition | None = None
    cron: list[str] = field(default_factory=list)
    concurrent: bool = True
    auth_token: str | None = None
    properties: list[str] = field(default_factory=list)

    def parameter(self, name: str) -> ParameterDefinition | None:
        return next((p for p in self.parameters if p.name == name), None)


def _text(element: ET.Element | None, default: str = "") -> str:
    if element is None or element.text is None:
        return default
    return element.text


def _local(tag: str) -> str:
    return tag.rsplit(".", 1)[-1]


def parse_root(xml: str) -> ET.Element:
    try:
        return ET.fromstring(xml.strip().encode("utf-8"))
    except ET.ParseError as exc:
        raise ConfigError(f"Failed to parse XML: {exc}") from exc


def item_class(xml: str) -> str:
    """The Jenkins class an item XML describes (refusing the kinds not emulated)."""
    root = parse_root(xml)
    if root.tag == "flow-definition":
        return WORKFLOW_JOB_CLASS
    if root.tag == FOLDER_CLASS:
        return FOLDER_CLASS
    raise ConfigError(
        f"Unsupported item type <{root.tag}>: the stand-in emulates pipeline jobs and folders"
    )


def parse_folder_description(xml: str) -> str:
    return _text(parse_root(xml).find("description"))


def parse_pipeline(xml: str) -> PipelineConfig:
    """Read a `flow-definition` config.xml."""
    root = parse_root(xml)
    if root.tag != "flow-definition":
        raise ConfigError(f"Expected <flow-definition>, got <{root.tag}>")
    config = PipelineConfig(
        description=_text(root.find("description")),
        disabled=_text(root.find("disabled"), "false").strip() == "true",
        auth_token=_text(root.find("authToken")) or None,
    )

    properties = root.find("properties")
    config.properties = [p.tag for p in properties] if properties is not None else []
    for prop in root.iter():
        tag = prop.tag
        if tag.endswith("DisableConcurrentBuildsJobProperty"):
            config.concurrent = False
        elif tag.endswith("ParametersDefinitionProperty"):
            definitions = prop.find("parameterDefinitions")
            for element in definitions if definitions is not None else []:
                config.parameters.append(_parse_parameter(element))
        elif tag == "hudson.triggers.TimerTrigger":
            config.cron.append(_text(prop.find("spec")))

    definition = root.find("definition")
    if definition is not None:
        kind = definition.get("class", "")
        if kind.endswith("CpsScmFlowDefinition"):
            config.scm = _parse_scm(definition)
        else:
            config.script = _text(definition.find("script"))
    return config


def _parse_parameter(element: ET.Element) -> ParameterDefinition:
    kind = _local(element.tag)
    definition = ParameterDefinition(
        kind=kind,
        name=_text(element.find("name")),
        description=_text(element.find("description")),
        trim=_text(element.find("trim"), "false") == "true",
    )
    default = element.find("defaultValue")
    if kind == "BooleanParameterDefinition":
        definition.default = _text(default, "false").strip() == "true"
    elif kind == "ChoiceParameterDefinition":
        choices = element.find("choices")
        if choices is not None:
            definition.choices = [_text(s) for s in choices.iter("string")]
    elif kind != "FileParameterDefinition":
        definition.default = _text(default)
    return definition


def _parse_scm(definition: ET.Element) -> ScmDefinition:
    scm = definition.find("scm")
    remote = scm.find("userRemoteConfigs/hudson.plugins.git.UserRemoteConfig") if scm else None
    branch = scm.find("branches/hudson.plugins.git.BranchSpec/name") if scm else None
    return ScmDefinition(
        url=_text(remote.find("url")) if remote is not None else "",
        credentials_id=_text(remote.find("credentialsId")) if remote is not None else "",
        branch=_text(branch, "*/master"),
        script_path=_text(definition.find("scriptPath"), "Jenkinsfile"),
    )


def with_disabled(xml: str, disabled: bool) -> str:
    """The same job XML with its `<disabled>` element set (what enable/disable persist)."""
    root = parse_root(xml)
    element = root.find("disabled")
    if element is None:
        element = ET.SubElement(root, "disabled")
    element.text = "true" if disabled else "false"
    return _serialize(root)


def with_description(xml: str, description: str) -> str:
    root = parse_root(xml)
    element = root.find("description")
    if element is None:
        element = ET.Element("description")
        root.insert(0, element)
    element.text = description
    return _serialize(root)


def _serialize(root: ET.Element) -> str:
    body = ET.tostring(root, encoding="unicode")
    return f"<?xml version='1.1' encoding='UTF-8'?>\n{body}"


# Credentials.

CREDENTIAL_TYPES = {
    "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl": (
        "Username with password"
    ),
    "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl": "Secret text",
    "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl": "Secret file",
    "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey": (
        "SSH Username with private key"
    ),
}
_SECRET_FIELDS = ("password", "secret", "secretBytes", "passphrase", "privateKey")


@dataclass
class Credential:
    """One credential in a store: its class, id, scope and fields (secrets in clear)."""

    class_name: str
    id: str
    scope: str = "GLOBAL"
    description: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    xml: str = ""

    @property
    def type_name(self) -> str:
        return CREDENTIAL_TYPES.get(self.class_name, self.class_name)

    @property
    def display_name(self) -> str:
        if "username" in self.fields and "password" in self.fields:
            name = f"{self.fields['username']}/******"
        elif "username" in self.fields:
            name = self.fields["username"]
        else:
            name = self.fields.get("fileName") or self.description or self.id
        return (
            f"{name} ({self.description})"
            if self.description and "username" in self.fields
            else name
        )

    def secrets(self) -> list[str]:
        """Every value a build must mask when this credential is bound."""
        return [self.fields[k] for k in _SECRET_FIELDS if self.fields.get(k)]

    def redacted_xml(self) -> str:
        """The config.xml a client reads back: secrets replaced as Jenkins does."""
        root = parse_root(self.xml)
        for element in root.iter():
            if element.tag in _SECRET_FIELDS:
                element.clear()
                element.append(ET.Element("secret-redacted"))
        return _serialize(root)


def parse_credential(xml: str) -> Credential:
    root = parse_root(xml)
    class_name = root.tag
    if "." not in class_name:
        raise ConfigError(f"Unknown credential type <{class_name}>")
    credential_id = _text(root.find("id")).strip()
    if not credential_id:
        raise ConfigError("A credential needs an <id>")
    fields: dict[str, str] = {}
    for name in ("username", "password", "secret", "fileName", "secretBytes", "passphrase"):
        element = root.find(name)
        if element is not None:
            fields[name] = _text(element)
    key = root.find("privateKeySource/privateKey")
    if key is not None:
        fields["privateKey"] = _text(key)
    return Credential(
        class_name=class_name,
        id=credential_id,
        scope=_text(root.find("scope"), "GLOBAL"),
        description=_text(root.find("description")),
        fields=fields,
        xml=xml,
    )


def credential_from_fields(class_name: str, values: dict[str, Any]) -> Credential:
    """A credential built from a form or CasC mapping, with a config.xml made for it."""
    root = ET.Element(class_name)
    for name in ("scope", "id", "description", "username", "password", "secret", "fileName"):
        if name in values:
            ET.SubElement(root, name).text = str(values[name])
    if "secretBytes" in values:
        ET.SubElement(root, "secretBytes").text = str(values["secretBytes"])
    if "privateKey" in values:
        source = ET.SubElement(root, "privateKeySource")
        source.set(
            "class",
            "com.cloudbees.jenkins.plugins.sshcredentials.impl."
            "BasicSSHUserPrivateKey$DirectEntryPrivateKeySource",
        )
        ET.SubElement(source, "privateKey").text = str(values["privateKey"])
    root.set("plugin", "credentials")
    return parse_credential(_serialize(copy.deepcopy(root)))
