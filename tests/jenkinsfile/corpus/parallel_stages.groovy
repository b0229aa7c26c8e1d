pipeline {
    agent any
    stages {
        stage('Tests') {
            parallel {
                stage('Unit') {
                    steps { sh 'make unit' }
                }
                stage('E2E') {
                    agent { label 'e2e' }
                    steps { sh 'make e2e' }
                }
            }
        }
    }
}
