// Workbench pipeline for the billing service.
/* Maintained by the platform team. */
pipeline {
    // run anywhere
    agent any

    environment {
        // the registry we push to
        REGISTRY = 'registry.example.com' // trailing comment
    }

    stages {
        /* first stage */
        stage('Build') {
            steps {
                // compile
                sh 'make build'

                // and test
                sh 'make test' // quick tests only
            }
        }
    }
    // notify at the end
    post {
        always { echo 'bye' } // always
    }
}
// end of file
