pipeline {
    agent {
        node {
            label 'ci'
            customWorkspace "/data/${JOB_NAME}"
        }
    }
    stages {
        stage('Build') {
            steps { sh 'ls' }
        }
    }
}
