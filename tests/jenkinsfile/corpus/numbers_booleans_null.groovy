pipeline {
    agent any
    stages {
        stage('Values') {
            steps {
                myStep count: 42, ratio: 1.5, negative: -7, big: 9000000000, enabled: true, disabled: false, nothing: null
                sleep time: 90, unit: 'SECONDS'
            }
        }
    }
}
