pipeline {
    agent { label 'build-pool' }
    stages {
        stage('Build') {
            steps { sh 'make' }
        }
    }
}
