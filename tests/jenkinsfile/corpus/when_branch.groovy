pipeline {
    agent any
    stages {
        stage('Release') {
            when { branch 'release/*' }
            steps { sh './release.sh' }
        }
        stage('Glob') {
            when { branch pattern: 'feature-\\d+', comparator: 'REGEXP' }
            steps { echo 'feature' }
        }
    }
}
