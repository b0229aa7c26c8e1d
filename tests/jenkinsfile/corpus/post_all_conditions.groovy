pipeline {
    agent any
    stages {
        stage('Build') {
            steps { sh 'make' }
        }
    }
    post {
        always { echo 'always' }
        changed { echo 'changed' }
        fixed { echo 'fixed' }
        regression { echo 'regression' }
        aborted { echo 'aborted' }
        failure { echo 'failure' }
        success { echo 'success' }
        unstable { echo 'unstable' }
        unsuccessful { echo 'unsuccessful' }
        notBuilt { echo 'not built' }
        cleanup { deleteDir() }
    }
}
