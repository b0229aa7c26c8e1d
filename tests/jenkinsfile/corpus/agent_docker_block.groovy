pipeline {
    agent {
        docker {
            image 'maven:3.9-eclipse-temurin-17'
            label 'docker'
            args '-v $HOME/.m2:/root/.m2'
            reuseNode true
            registryUrl 'https://registry.example.com'
            registryCredentialsId 'registry-creds'
        }
    }
    stages {
        stage('Package') {
            steps { sh 'mvn -B package' }
        }
    }
}
