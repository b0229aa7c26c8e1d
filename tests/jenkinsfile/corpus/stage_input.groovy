pipeline {
    agent any
    stages {
        stage('Deploy') {
            input {
                message 'Deploy to production?'
                id 'deploy-gate'
                ok 'Deploy'
                submitter 'ops,release-managers'
                submitterParameter 'APPROVER'
            }
            steps { echo "Approved by ${APPROVER}" }
        }
    }
}
