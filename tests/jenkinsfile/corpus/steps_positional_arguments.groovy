pipeline {
    agent any
    stages {
        stage('Steps') {
            steps {
                myCustomStep 'first', 'second', 3
                notify('chat', "build ${BUILD_NUMBER}")
                sleep 5
            }
        }
    }
}
