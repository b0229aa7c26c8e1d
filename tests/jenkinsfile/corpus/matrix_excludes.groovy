pipeline {
    agent none
    stages {
        stage('Cross') {
            matrix {
                axes {
                    axis {
                        name 'OS'
                        values 'linux', 'windows'
                    }
                    axis {
                        name 'JDK'
                        values '11', '17', '21'
                    }
                }
                excludes {
                    exclude {
                        axis {
                            name 'OS'
                            values 'windows'
                        }
                        axis {
                            name 'JDK'
                            notValues '21'
                        }
                    }
                }
                stages {
                    stage('Test') {
                        steps { sh "./test.sh ${OS} ${JDK}" }
                    }
                }
            }
        }
    }
}
