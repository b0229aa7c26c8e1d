pipeline {
    agent any
    stages {
        stage('Work') {
            steps { sh 'make' }
        }
    }
    post {
        always {
            script {
                def duration = currentBuild.durationString
                echo "took ${duration}"
            }
            dir('reports') {
                junit '*.xml'
            }
        }
    }
}
