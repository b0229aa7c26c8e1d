pipeline {
    agent none
    stages {
        stage('Compile') {
            agent { label 'linux' }
            steps {
                sh './gradlew assemble'
            }
        }
        stage('Windows') {
            agent { label 'windows && x64' }
            steps {
                bat 'gradlew.bat test'
            }
        }
    }
}
