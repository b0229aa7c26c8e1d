pipeline {
    agent { docker 'node:20-alpine' }
    stages {
        stage('Test') {
            steps {
                sh 'npm ci'
                sh 'npm test'
            }
        }
    }
}
