pipeline {
    agent any
    stages {
        stage('Steps') {
            steps {
                git url: 'https://git.example.com/team/app.git', branch: 'main', credentialsId: 'git'
                sh script: './version.sh', returnStdout: true
                writeFile file: 'out.txt', text: 'hello', encoding: 'UTF-8'
                mail to: 'team@example.com', subject: "Build ${BUILD_NUMBER}", body: 'done'
            }
        }
    }
}
