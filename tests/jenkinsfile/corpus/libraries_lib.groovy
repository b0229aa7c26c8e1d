pipeline {
    agent any
    libraries {
        lib('amamba-shared-lib@main')
        lib("tools@${LIB_VERSION}")
    }
    stages {
        stage('Use') {
            steps { amambaCustomStep 'lint' }
        }
    }
}
