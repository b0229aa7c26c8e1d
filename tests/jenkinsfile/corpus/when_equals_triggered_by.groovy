pipeline {
    agent any
    stages {
        stage('Every tenth') {
            when { equals expected: 0, actual: currentBuild.number % 10 }
            steps { echo 'tenth build' }
        }
        stage('Timer') {
            when { triggeredBy 'TimerTrigger' }
            steps { echo 'nightly' }
        }
        stage('User') {
            when { triggeredBy cause: 'UserIdCause', detail: 'admin' }
            steps { echo 'by admin' }
        }
        stage('Restarted') {
            when { isRestartedRun() }
            steps { echo 'again' }
        }
    }
}
