pipeline {
    agent any
    stages {
        stage('L1') {
            stages {
                stage('L2') {
                    parallel {
                        stage('L3a') {
                            stages {
                                stage('L4') {
                                    steps { echo 'deep' }
                                }
                            }
                        }
                        stage('L3b') {
                            steps { echo 'side' }
                        }
                    }
                }
            }
        }
    }
}
