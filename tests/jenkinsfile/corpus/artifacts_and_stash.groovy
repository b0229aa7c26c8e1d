pipeline {
    agent none
    stages {
        stage('Build') {
            agent { label 'builder' }
            steps {
                sh 'make dist'
                stash name: 'dist', includes: 'dist/**'
                archiveArtifacts 'dist/*.tar.gz'
                fingerprint 'dist/*.tar.gz'
            }
        }
        stage('Test') {
            agent { label 'tester' }
            steps {
                unstash 'dist'
                junit testResults: 'results/*.xml', allowEmptyResults: true
            }
        }
    }
}
