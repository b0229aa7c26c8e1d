pipeline {
    agent none
    stages {
        stage('Verify') {
            agent { label 'linux' }
            stages {
                stage('Lint') {
                    steps { sh 'make lint' }
                }
                stage('Unit') {
                    steps { sh 'make unit' }
                }
            }
        }
    }
}
