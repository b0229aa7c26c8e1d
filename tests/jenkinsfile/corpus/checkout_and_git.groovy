pipeline {
    agent any
    options { skipDefaultCheckout() }
    stages {
        stage('Checkout') {
            steps {
                checkout scm
                checkout([$class: 'GitSCM', branches: [[name: '*/main']], userRemoteConfigs: [[url: 'https://git.example.com/app.git', credentialsId: 'git']]])
                git 'https://git.example.com/other.git'
            }
        }
    }
}
