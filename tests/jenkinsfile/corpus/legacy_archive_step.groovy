pipeline {
    agent { label 'linux' }
    environment {
        DEPLOY = credentials('deploy-login')
    }
    stages {
        stage('Package') {
            steps {
                sh "make dist USER=$DEPLOY_USR"
                dir('dist') {
                    writeFile file: 'VERSION', text: "${BUILD_NUMBER}"
                }
                // the step before archiveArtifacts existed; Jenkins names its argument
                archive 'dist/**'
            }
        }
    }
}
