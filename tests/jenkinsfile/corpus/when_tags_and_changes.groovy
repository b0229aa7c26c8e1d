pipeline {
    agent any
    stages {
        stage('Tagged') {
            when { buildingTag() }
            steps { echo 'tag build' }
        }
        stage('Release tag') {
            when { tag pattern: 'v\\d+\\.\\d+\\.\\d+', comparator: 'REGEXP' }
            steps { echo 'release' }
        }
        stage('Changelog') {
            when { changelog '.*\\[ci deploy\\].*' }
            steps { echo 'deploy requested' }
        }
        stage('Docs') {
            when { changeset pattern: 'docs/**', caseSensitive: true }
            steps { sh 'make docs' }
        }
    }
}
