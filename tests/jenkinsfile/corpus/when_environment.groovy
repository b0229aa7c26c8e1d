pipeline {
    agent any
    stages {
        stage('Prod only') {
            when {
                environment name: 'DEPLOY_TO', value: 'production'
            }
            steps { sh './deploy.sh production' }
        }
    }
}
