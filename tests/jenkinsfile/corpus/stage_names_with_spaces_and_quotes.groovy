pipeline {
    agent any
    stages {
        stage("Build & Test") {
            steps { echo 'x' }
        }
        stage('It\'s done') {
            steps { echo 'y' }
        }
        stage(Bare) {
            steps { echo 'z' }
        }
    }
}
