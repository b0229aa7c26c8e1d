pipeline {
    agent any
    stages {
        stage('PR') {
            when { changeRequest() }
            steps { echo "PR ${CHANGE_ID}" }
        }
        stage('PR to main') {
            when { changeRequest target: 'main', fork: '*' }
            steps { echo 'to main' }
        }
    }
}
