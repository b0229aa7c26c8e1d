pipeline {
    agent { label 'docker' }
    stages {
        stage('In container') {
            agent {
                docker {
                    image 'python:3.11'
                    reuseNode true
                }
            }
            steps { sh 'python -m pytest' }
        }
    }
}
