pipeline {
    agent none
    stages {
        stage('Approve') {
            agent { label 'deployer' }
            when {
                beforeAgent true
                beforeInput true
                beforeOptions true
                branch 'main'
            }
            options { timeout(time: 1, unit: 'HOURS') }
            input { message 'Ship it?' }
            steps { sh './ship.sh' }
        }
    }
}
