pipeline {
    agent {
        kubernetes {
            yaml '''
spec:
  containers:
  - name: maven
    image: maven:3.9
  - name: kaniko
    image: gcr.io/kaniko-project/executor:debug
'''
        }
    }
    stages {
        stage('Build and push') {
            steps {
                container('maven') {
                    withEnv(['MAVEN_OPTS=-Xmx1g', "BUILD=${BUILD_NUMBER}"]) {
                        sh 'mvn -B package'
                    }
                }
                container(name: 'kaniko', shell: '/busybox/sh') {
                    sh '/kaniko/executor --destination registry.example.com/app:latest'
                }
            }
        }
    }
}
