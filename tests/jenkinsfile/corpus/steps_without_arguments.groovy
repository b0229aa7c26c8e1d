pipeline {
    agent any
    stages {
        stage('Clean') {
            steps {
                deleteDir()
                cleanWs()
                sh 'ls'
            }
        }
    }
}
