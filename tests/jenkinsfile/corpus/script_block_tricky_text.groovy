pipeline {
    agent any
    stages {
        stage('Tricky') {
            steps {
                script {
                    def m = [a: '}', b: "{ ${'}'} }", c: '''{{'''] // braces in strings
                    def re = /\d+}/
                    def x = 10 / 2
                    /* a } in a comment */
                    echo "${m.a}${x}"
                }
                echo 'after'
            }
        }
    }
}
