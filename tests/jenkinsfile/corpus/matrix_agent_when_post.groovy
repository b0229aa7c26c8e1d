pipeline {
    agent none
    stages {
        stage('Images') {
            matrix {
                agent { label "${ARCH}" }
                when { anyOf { expression { params.ALL_ARCHES }; environment name: 'ARCH', value: 'amd64' } }
                axes {
                    axis {
                        name 'ARCH'
                        values 'amd64', 'arm64'
                    }
                }
                environment {
                    GOARCH = "${ARCH}"
                }
                stages {
                    stage('Image') {
                        steps { sh 'make image' }
                    }
                }
                post {
                    always { echo "done ${ARCH}" }
                }
            }
        }
    }
}
