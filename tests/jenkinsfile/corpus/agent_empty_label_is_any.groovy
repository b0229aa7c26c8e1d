pipeline {
    agent { label '' }
    stages {
        stage('Anywhere') {
            steps { echo 'runs on any agent' }
        }
    }
}
