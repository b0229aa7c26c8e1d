pipeline {
    agent any
    stages {
        stage('Fan out') {
            steps {
                parallel(
                    'frontend': {
                        sh 'npm run build'
                    },
                    backend: {
                        sh 'go build ./...'
                        sh 'go vet ./...'
                    },
                    failFast: true
                )
            }
        }
    }
}
