pipeline {
    agent any
    stages {
        stage('Slashy') {
            steps {
                echo(/C:\Windows\System32/)
                echo(/branch is ${BRANCH_NAME}/)
                echo $/dollar slashy with / and \ inside/$
            }
        }
    }
}
