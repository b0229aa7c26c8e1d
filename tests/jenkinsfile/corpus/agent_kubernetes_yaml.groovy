pipeline {
    agent {
        kubernetes {
            defaultContainer 'golang'
            yaml '''
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: golang
    image: golang:1.22
    command: ['sleep', 'infinity']
'''
        }
    }
    stages {
        stage('Go') {
            steps {
                container('golang') {
                    sh 'go test ./...'
                }
            }
        }
    }
}
