pipeline {
    agent any
    stages {
        stage('Multi-line') {
            steps {
                sh '''
                    set -e
                    echo "first"
                    echo 'second'
                '''
                sh """
                    echo ${env.BUILD_ID}
                """
                sh """
                    echo plain triple double
                """
            }
        }
    }
}
