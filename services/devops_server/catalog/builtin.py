"""The built-in global templates Workbench ships, installed when devops-server starts.

They are global templates of type BUILTIN, written in the same spec format as anyone's
(`spec.py`). Installing is an upsert by name that only ever touches built-in rows: a new release
refreshes their content and keeps whether an administrator disabled them, and a custom global
template that already holds one of these names is left alone (that built-in is then not
installed). People cannot edit or delete a built-in template; they disable it, or copy its spec
into a template of their own.
"""

from __future__ import annotations

GO = """\
parameterDefinitions:
  - name: gitURL
    displayName: Repository URL
    description: the Git repository to build
  - name: branch
    displayName: Branch
    default: main
  - name: gitCredential
    displayName: Git credential
    description: a username-password credential of the workspace, for a private repository
    type: credential
    default: ""
  - name: goVersion
    displayName: Go version
    type: choice
    default: ["1.22", "1.21"]
  - name: runTests
    displayName: Run the tests
    type: boolean
    default: true
jenkinsfileTemplate: |
  pipeline {
    agent { label 'go' }
    stages {
      stage('clone') {
        steps {
  {{- if .params.gitCredential }}
          git url: '{{ .params.gitURL }}', branch: '{{ .params.branch }}',
              credentialsId: '{{ .params.gitCredential }}'
  {{- else }}
          git url: '{{ .params.gitURL }}', branch: '{{ .params.branch }}'
  {{- end }}
        }
      }
      stage('build') {
        steps {
          container('go') {
            sh 'go version && go build ./...'
          }
        }
      }
  {{- if .params.runTests }}
      stage('test') {
        steps {
          container('go') {
            sh 'go test ./...'
          }
        }
      }
  {{- end }}
    }
  }
"""

MAVEN = """\
parameterDefinitions:
  - name: gitURL
    displayName: Repository URL
    description: the Git repository to build
  - name: branch
    displayName: Branch
    default: main
  - name: goals
    displayName: Maven goals
    default: clean package
  - name: skipTests
    displayName: Skip the tests
    type: boolean
    default: false
jenkinsfileTemplate: |
  pipeline {
    agent { label 'maven' }
    stages {
      stage('clone') {
        steps {
          git url: '{{ .params.gitURL }}', branch: '{{ .params.branch }}'
        }
      }
      stage('build') {
        steps {
          container('maven') {
            sh 'mvn -B {{ .params.goals }}{{ if .params.skipTests }} -DskipTests{{ end }}'
          }
        }
      }
    }
  }
"""

NODEJS = """\
parameterDefinitions:
  - name: gitURL
    displayName: Repository URL
    description: the Git repository to build
  - name: branch
    displayName: Branch
    default: main
  - name: script
    displayName: npm script
    description: the package.json script that builds the project
    default: build
jenkinsfileTemplate: |
  pipeline {
    agent { label 'nodejs' }
    stages {
      stage('clone') {
        steps {
          git url: '{{ .params.gitURL }}', branch: '{{ .params.branch }}'
        }
      }
      stage('build') {
        steps {
          container('nodejs') {
            sh 'npm ci && npm run {{ .params.script }}'
          }
        }
      }
    }
  }
"""

# name -> (description, spec)
BUILTIN_TEMPLATES: dict[str, tuple[str, str]] = {
    "golang": ("Clone, build and test a Go module", GO),
    "maven": ("Clone and build a Java project with Maven", MAVEN),
    "nodejs": ("Clone a Node.js project and run an npm script", NODEJS),
}
