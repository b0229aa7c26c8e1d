pipeline {
    agent any
    stages {
        stage('Matrix-ish') {
            failFast true
            parallel {
                stage('Linux') {
                    stages {
                        stage('Build Linux') {
                            steps { sh 'make linux' }
                        }
                        stage('Test Linux') {
                            steps { sh 'make test-linux' }
                        }
                    }
                }
                stage('Mac') {
                    steps { sh 'make mac' }
                }
            }
        }
    }
}
