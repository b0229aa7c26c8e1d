pipeline {
    agent {
        label {
            label 'big-memory'
            customWorkspace 'ws/big'
        }
    }
    stages {
        stage('Build') {
            steps { sh 'make -j8' }
        }
    }
}
