pipeline {
    agent any
    customDirective {
        someSetting 'value'
    }
    stages {
        stage('Build') {
            steps { sh 'make' }
            pluginSpecific 'kept as text'
        }
    }
}
