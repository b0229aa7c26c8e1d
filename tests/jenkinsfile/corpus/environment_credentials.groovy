pipeline {
    agent any
    environment {
        REGISTRY = credentials('harbor-robot')
        KUBECONFIG_FILE = credentials("kubeconfig-${TARGET}")
    }
    stages {
        stage('Login') {
            steps {
                sh 'echo $REGISTRY_PSW | docker login -u $REGISTRY_USR --password-stdin'
            }
        }
    }
}
