pipeline {
    agent any
    stages {
        stage('Test') {
            steps { sh 'make test' }
            post {
                always {
                    junit 'reports/**/*.xml'
                }
                failure {
                    archiveArtifacts artifacts: 'logs/**', allowEmptyArchive: true
                }
            }
        }
    }
}
