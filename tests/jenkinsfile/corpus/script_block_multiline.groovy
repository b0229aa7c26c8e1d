pipeline {
    agent any
    stages {
        stage('Script') {
            steps {
                script {
                    def services = ['api', 'web', 'worker']
                    for (s in services) {
                        echo "Deploying ${s}"
                    }
                    if (env.BRANCH_NAME == 'main') {
                        currentBuild.description = 'main build'
                    } else {
                        currentBuild.description = "branch ${env.BRANCH_NAME}"
                    }
                }
            }
        }
    }
}
