pipeline {
    agent any
    tools {
        maven 'apache-maven-3.9'
        jdk 'temurin-17'
    }
    stages {
        stage('Build') {
            tools {
                nodejs 'node-20'
            }
            steps { sh 'mvn -v && node -v' }
        }
    }
}
