def call(Map config) {
    pipeline {
        agent any
        stages {
            stage('From library') {
                steps { echo "building ${config.name}" }
            }
        }
    }
}
