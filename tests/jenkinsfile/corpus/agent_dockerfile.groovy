pipeline {
    agent {
        dockerfile {
            filename 'Dockerfile.build'
            dir 'ci'
            additionalBuildArgs '--build-arg VERSION=1.2.3'
        }
    }
    stages {
        stage('Inside') {
            steps { sh 'make check' }
        }
    }
}
