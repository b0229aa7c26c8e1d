pipeline {
    agent any
    stages {
        stage('Trigger') {
            steps {
                build 'deploy-pipeline'
                build job: 'integration', propagate: false, wait: true
            }
        }
    }
}
