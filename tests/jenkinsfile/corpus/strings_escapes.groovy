pipeline {
    agent any
    stages {
        stage('Escapes') {
            steps {
                echo 'tab\there'
                echo 'quote \' inside'
                echo 'backslash \\ here'
                echo 'unicode \u00e9t\u00e9'
                echo "newline\nin double"
            }
        }
    }
}
