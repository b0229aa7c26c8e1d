pipeline {
    agent {
        kubernetes {
            cloud 'member-cluster-1'
            inheritFrom 'base'
            workspaceVolume {
                dynamicPVC {
                    storageClassName 'fast'
                    requestsSize '10Gi'
                }
            }
            yamlFile 'ci/pod.yaml'
        }
    }
    stages {
        stage('Run') {
            steps { sh 'true' }
        }
    }
}
