pipeline {
    agent any
    options {
        buildDiscarder(logRotator(daysToKeepStr: '7', numToKeepStr: '30'))
        timeout(activity: true, time: 20)
    }
    stages {
        stage('Calls') {
            steps {
                echo currentBuild.getDisplayName()
                build job: 'downstream', parameters: [string(name: 'VERSION', value: "${VERSION}")], wait: false
                archiveArtifacts artifacts: findFiles(glob: '*.jar')[0].path
            }
        }
    }
}
