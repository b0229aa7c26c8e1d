pipeline {
    agent none
    stages {
        stage('Cross') {
            matrix {
                axes {
                    axis {
                        name 'PLATFORM'
                        values 'linux', 'windows', 'mac'
                    }
                    axis {
                        name 'BROWSER'
                        values 'firefox', 'chrome'
                    }
                }
                stages {
                    stage('Build') {
                        steps { echo "Do Build for ${PLATFORM} - ${BROWSER}" }
                    }
                }
            }
        }
    }
}
