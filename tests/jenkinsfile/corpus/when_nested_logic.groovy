pipeline {
    agent any
    stages {
        stage('Complex') {
            when {
                allOf {
                    not { branch 'main' }
                    anyOf {
                        environment name: 'FORCE', value: 'true'
                        changeset '**/*.go'
                    }
                }
            }
            steps { sh 'make' }
        }
    }
}
