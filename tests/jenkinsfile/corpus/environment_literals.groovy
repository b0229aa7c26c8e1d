pipeline {
    agent any
    environment {
        APP_NAME = 'billing'
        REPLICAS = 3
        RATIO = 0.75
        DEBUG = false
        QUOTED = "plain double quotes"
    }
    stages {
        stage('Show') {
            steps { sh 'env | sort' }
        }
    }
}
