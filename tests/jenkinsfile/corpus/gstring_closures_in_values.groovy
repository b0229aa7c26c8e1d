pipeline {
    agent any
    stages {
        stage('Ternary') {
            steps {
                echo env.BRANCH_NAME == 'main' ? 'prod' : 'dev'
                sh "echo ${params.LIST.split(',').collect { it.trim() }.join(' ')}"
            }
        }
    }
}
