pipeline {
    agent any
    stages {
        stage('Blocks') {
            steps {
                dir('service') {
                    timeout(time: 10, unit: 'MINUTES') {
                        retry(3) {
                            sh 'make deploy'
                        }
                    }
                }
                timestamps {
                    echo 'with timestamps'
                }
                catchError(buildResult: 'SUCCESS', stageResult: 'FAILURE') {
                    sh 'exit 1'
                }
            }
        }
    }
}
