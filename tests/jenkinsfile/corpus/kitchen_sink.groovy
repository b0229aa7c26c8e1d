@Library('shared') _

// A pipeline that uses most sections at once.
pipeline {
    agent none
    options {
        timeout(time: 1, unit: 'HOURS')
        buildDiscarder(logRotator(numToKeepStr: '10'))
    }
    parameters {
        booleanParam(name: 'DEPLOY', defaultValue: false, description: 'Deploy after build')
    }
    triggers { cron('@daily') }
    tools { jdk 'temurin-17' }
    environment {
        APP = 'shop'
        CREDS = credentials('shop-deployer')
    }
    stages {
        stage('Build') {
            agent { docker { image 'gradle:8-jdk17'; reuseNode true } }
            steps {
                sh './gradlew build'
                stash name: 'jar', includes: 'build/libs/*.jar'
            }
            post { success { archiveArtifacts 'build/libs/*.jar' } }
        }
        stage('Checks') {
            parallel {
                stage('Lint') { agent any; steps { sh './gradlew check' } }
                stage('Sec') { agent any; steps { sh './scan.sh' } }
            }
        }
        stage('Deploy') {
            agent { label 'deployer' }
            when { allOf { branch 'main'; expression { params.DEPLOY } } }
            input {
                message 'Deploy?'
                ok 'Go'
            }
            steps {
                unstash 'jar'
                withCredentials([file(credentialsId: 'kube', variable: 'KUBECONFIG')]) {
                    sh 'kubectl apply -f k8s/'
                }
            }
        }
    }
    post {
        failure { mail to: 'oncall@example.com', subject: "${APP} failed", body: "${BUILD_URL}" }
        cleanup { echo 'cleanup' }
    }
}
