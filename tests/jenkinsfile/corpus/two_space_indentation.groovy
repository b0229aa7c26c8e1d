pipeline {
  agent any
  stages {
    stage('Two') {
      steps {
        sh 'echo two spaces'
      }
    }
  }
}
