pipeline {
    agent any
    triggers {
        cron('H 2 * * 1-5')
        pollSCM('H/15 * * * *')
        upstream(upstreamProjects: 'lib-a,lib-b', threshold: hudson.model.Result.SUCCESS)
    }
    stages {
        stage('Nightly') {
            steps { sh './nightly.sh' }
        }
    }
}
