pipeline {
    agent any
    options {
        buildDiscarder(logRotator(numToKeepStr: '20', artifactNumToKeepStr: '5'))
        disableConcurrentBuilds()
        timeout(time: 30, unit: 'MINUTES')
        timestamps()
        retry(2)
        skipDefaultCheckout()
        quietPeriod(10)
        checkoutToSubdirectory('src')
        parallelsAlwaysFailFast()
    }
    stages {
        stage('Build') {
            steps { sh 'make' }
        }
    }
}
