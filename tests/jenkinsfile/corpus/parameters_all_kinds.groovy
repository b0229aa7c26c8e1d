pipeline {
    agent any
    parameters {
        string(name: 'VERSION', defaultValue: '1.0.0', description: 'Release version')
        text(name: 'NOTES', defaultValue: '', description: 'Release notes')
        booleanParam(name: 'DRY_RUN', defaultValue: true, description: 'Only print')
        choice(name: 'ENV', choices: ['dev', 'staging', 'prod'], description: 'Target')
        password(name: 'SECRET', defaultValue: '', description: 'A secret')
        credentials(name: 'DEPLOY_KEY', credentialType: 'com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl', required: true)
    }
    stages {
        stage('Release') {
            steps { echo "Releasing ${params.VERSION} to ${params.ENV}" }
        }
    }
}
