pipeline {
    agent any
    environment {
        IMAGE = "registry.example.com/${APP}/api"
        TAG = "${env.BUILD_NUMBER}-${GIT_COMMIT}"
        SHORT = "$BRANCH_NAME"
    }
    stages {
        stage('Tag') {
            steps { echo "Image ${IMAGE}:${TAG}" }
        }
    }
}
