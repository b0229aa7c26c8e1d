pipeline {
    agent any
    stages {
        stage('Quotes') {
            steps {
                echo 'single with "double" inside'
                echo "double with 'single' inside"
                echo "interpolated ${env.JOB_NAME} and $BUILD_NUMBER"
                echo 'no $interpolation in single quotes'
                echo "escaped \$NOT_INTERPOLATED"
            }
        }
    }
}
