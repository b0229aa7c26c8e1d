pipeline {
    agent any
    stages {
        stage('Choose') {
            input {
                message "Pick a target for ${BUILD_TAG}"
                parameters {
                    choice(name: 'TARGET', choices: ['blue', 'green'], description: 'Slot')
                    string(name: 'REASON', defaultValue: 'routine')
                }
            }
            steps { echo "Target ${TARGET}" }
        }
    }
}
