pipeline {
    agent any
    stages {
        stage('Long') {
            steps {
                sh script: """
                    echo ${env.A}
                """,
                   returnStatus: true
                httpRequest(
                    url: 'https://hooks.example.com/notify',
                    httpMode: 'POST',
                    contentType: 'APPLICATION_JSON',
                    requestBody: '{"ok": true}'
                )
                echo env.BRANCH_NAME
                    .toUpperCase()
            }
        }
    }
}
