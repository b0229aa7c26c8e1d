pipeline {
    agent any
    stages {
        stage('Collections') {
            steps {
                myStep items: ['a', 'b', 'c'], options: [retries: 3, verbose: true]
                withEnv(['A=1', 'B=2']) {
                    sh 'echo $A $B'
                }
            }
        }
    }
}
