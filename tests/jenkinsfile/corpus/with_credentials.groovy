pipeline {
    agent any
    stages {
        stage('Publish') {
            steps {
                withCredentials([usernamePassword(credentialsId: 'nexus', usernameVariable: 'USER', passwordVariable: 'PASS')]) {
                    sh 'curl -u $USER:$PASS -T app.jar https://nexus.example.com/'
                }
                withCredentials([string(credentialsId: 'token', variable: 'TOKEN'), file(credentialsId: 'kubeconfig', variable: 'KUBECONFIG')]) {
                    sh 'kubectl get pods'
                }
                sshagent(['deploy-key']) {
                    sh 'ssh deploy@host uptime'
                }
            }
        }
    }
}
