pipeline {
    agent any
    environment {
        GLOBAL = 'yes'
    }
    stages {
        stage('Deploy') {
            environment {
                NAMESPACE = 'staging'
                TOKEN = credentials('deploy-token')
            }
            steps {
                sh 'kubectl -n $NAMESPACE apply -f k8s/'
            }
        }
    }
}
