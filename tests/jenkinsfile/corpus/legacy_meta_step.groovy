pipeline {
    agent any
    stages {
        stage('Meta') {
            steps {
                step([$class: 'JUnitResultArchiver', testResults: '**/TEST-*.xml'])
                wrap([$class: 'AnsiColorBuildWrapper', colorMapName: 'xterm']) {
                    sh 'ls --color'
                }
            }
        }
    }
}
