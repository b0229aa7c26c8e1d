pipeline {
    agent any
    environment {
        JOINED = 'abc' + 'def'
        MIXED = 'prefix-' + "${BUILD_ID}" + '-suffix'
    }
    stages {
        stage('Print') {
            steps { echo env.JOINED }
        }
    }
}
