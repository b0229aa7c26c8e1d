pipeline {
    agent any
    stages {
        stage('Conditional') {
            when {
                expression {
                    def changed = sh(returnStdout: true, script: 'git diff --name-only HEAD~1').trim()
                    return changed.contains('api/')
                }
            }
            steps { sh 'make api' }
        }
        stage('Inline') {
            when { expression { return params.RUN_EXTRA } }
            steps { echo 'extra' }
        }
    }
}
