pipeline {
    agent any
    stages {
        stage('Gate') {
            steps {
                input message: 'Proceed?', ok: 'Yes', submitter: 'admin'
                input 'Simple prompt'
                milestone 1
                lock('shared-env') {
                    sh './use-env.sh'
                }
            }
        }
    }
}
