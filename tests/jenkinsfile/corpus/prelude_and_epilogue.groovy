@Library('amamba-shared-lib@v1') _
import groovy.json.JsonOutput

def tagFor(String branch) {
    return branch.replaceAll('/', '-')
}

pipeline {
    agent any
    stages {
        stage('Tag') {
            steps {
                script {
                    echo JsonOutput.toJson([tag: tagFor(env.BRANCH_NAME)])
                }
            }
        }
    }
}

def helperAfter() {
    echo 'defined after the pipeline'
}
