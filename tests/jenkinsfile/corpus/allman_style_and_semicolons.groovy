pipeline
{
    agent any
    stages
    {
        stage('Allman')
        {
            steps
            {
                echo 'one'; echo 'two'
                sh('three');
            }
        }
    }
}
